# expect: missing_global
# 'w1 -= ...' inside update makes w1 local: UnboundLocalError.
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
        w1 -= lr * w1.grad
        w2 -= lr * w2.grad
        b -= lr * b.grad
    w1.grad.zero_()
    w2.grad.zero_()
    b.grad.zero_()
