# expect: missing_global
# Assigns to w inside update without 'global w'.
import torch

w = torch.tensor([1.0], requires_grad=True)


def forward(x):
    return x * w


def loss(x, y):
    return (forward(x) - y) ** 2


def update(lr):
    w = w - lr * w.grad
