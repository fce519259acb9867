# expect: fixed_learning_rate
# Writes 0.01 into the update instead of using lr.
import torch

w = torch.tensor([1.0], requires_grad=True)


def forward(x):
    return x * w


def loss(x, y):
    return (forward(x) - y) ** 2


def update(lr):
    w.data -= 0.01 * w.grad
    w.grad.zero_()
