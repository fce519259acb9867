# expect: diverged
# A step fifty times too large: the parameters blow up.
import torch

w1 = torch.tensor([1.0], requires_grad=True)
w2 = torch.tensor([1.0], requires_grad=True)
b = torch.tensor([1.0], requires_grad=True)


def forward(x):
    return w1 * x**2 + w2 * x + b


def loss(x, y):
    return (forward(x) - y) ** 2


def update(lr):
    for p in (w1, w2, b):
        p.data = p.data - 50 * lr * p.grad.data
        p.grad.data.zero_()
