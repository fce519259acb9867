# Correct, written differently: x @ w, a hand-written mean, and an in-place step under no_grad.
import torch

w = torch.zeros(5, 3, requires_grad=True)
b = torch.zeros(3, requires_grad=True)


def forward(x):
    return x @ w + b


def loss(x, y):
    return ((forward(x) - y) ** 2).sum() / y.numel()


def update(lr):
    with torch.no_grad():
        w.sub_(lr * w.grad)
        b.sub_(lr * b.grad)
    w.grad = None
    b.grad = None
