# expect: wrong_update
# Moves w2 with w1's gradient.
import torch

w1 = torch.tensor([1.0], requires_grad=True)
w2 = torch.tensor([1.0], requires_grad=True)
b = torch.tensor([1.0], requires_grad=True)


def forward(x):
    return w1 * x**2 + w2 * x + b



def loss(x, y):
    return (forward(x) - y) ** 2


def update(lr):
    w1.data = w1.data - lr * w1.grad.data
    w2.data = w2.data - lr * w1.grad.data
    b.data = b.data - lr * b.grad.data
    for p in (w1, w2, b):
        p.grad.data.zero_()
