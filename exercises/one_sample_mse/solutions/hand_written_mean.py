# Correct, written differently: the mean of the squared errors by hand, and grad = None.
import torch

w = torch.zeros(1, requires_grad=True)


def forward(x):
    return w * x


def loss(x, y):
    return ((forward(x) - y) ** 2).mean()


def update(lr):
    w.data -= lr * w.grad
    w.grad = None
