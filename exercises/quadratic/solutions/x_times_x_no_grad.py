# Correct, written differently: w1 * x * x (rounds differently from x**2), a torch.no_grad()
# step over a list of parameters, and gradients reset to None.
import torch

w1 = torch.tensor([1.0], requires_grad=True)
w2 = torch.tensor([1.0], requires_grad=True)
b = torch.tensor([1.0], requires_grad=True)


def forward(x):
    return w1 * x * x + w2 * x + b


def loss(x, y):
    return (forward(x) - y) ** 2


def update(lr):
    with torch.no_grad():
        for p in (w1, w2, b):
            p.sub_(lr * p.grad)
            p.grad = None
