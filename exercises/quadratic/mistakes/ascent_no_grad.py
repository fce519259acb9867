# expect: wrong_sign
# Steps along the gradient, in place under no_grad.
import torch

w1 = torch.tensor([1.0], requires_grad=True)
w2 = torch.tensor([1.0], requires_grad=True)
b = torch.tensor([1.0], requires_grad=True)


def forward(x):
    return w1 * x**2 + w2 * x + b


def loss(x, y):
    return (forward(x) - y) ** 2


def update(lr):
    with torch.no_grad():
        for p in (w1, w2, b):
            p += lr * p.grad
            p.grad.zero_()
