# Correct, written differently: an in-place step under torch.no_grad(), gradient set to None.
import torch

w = torch.tensor([1.0], requires_grad=True)


def forward(x):
    return w * x


def loss(x, y):
    return (forward(x) - y).pow(2)


def update(lr):
    global w  # `w -= ...` assigns to w: without this, w is a local name
    with torch.no_grad():
        w -= lr * w.grad
    w.grad = None
