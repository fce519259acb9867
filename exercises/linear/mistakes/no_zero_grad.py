# expect: missing_zero_grad
# Forgets to clear the gradient: every backward() adds to the previous one.
import torch

w = torch.tensor([1.0], requires_grad=True)


def forward(x):
    return x * w


def loss(x, y):
    return (forward(x) - y) ** 2


def update(lr):
    w.data = w.data - lr * w.grad.data
