# expect: shape_mismatch
# Predicts from the first sample only: a (3,) prediction for a (2, 3) target.
import torch

w = torch.randn(5, 3, requires_grad=True)
b = torch.randn(3, requires_grad=True)


def forward(x):
    return torch.matmul(x[0], w) + b


def loss(x, y):
    return ((forward(x) - y) ** 2).mean()


def update(lr):
    w.data = w.data - lr * w.grad.data
    b.data = b.data - lr * b.grad.data
    w.grad.data.zero_()
    b.grad.data.zero_()
