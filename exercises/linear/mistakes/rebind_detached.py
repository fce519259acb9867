# expect: lost_requires_grad
# Rebinds w to a plain tensor: the new w does not require grad.
import torch

w = torch.tensor([1.0], requires_grad=True)


def forward(x):
    return x * w


def loss(x, y):
    return (forward(x) - y) ** 2


def update(lr):
    global w
    w = w.data - lr * w.grad.data
