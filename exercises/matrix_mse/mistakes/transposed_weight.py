# expect: shape_mismatch
# Multiplies by the transposed weight: (2x5) @ (3x5) does not fit.
import torch

w = torch.randn(5, 3, requires_grad=True)
b = torch.randn(3, requires_grad=True)


def forward(x):
    return x @ w.T + b


def loss(x, y):
    return torch.nn.MSELoss()(forward(x), y)


def update(lr):
    w.data = w.data - lr * w.grad.data
    b.data = b.data - lr * b.grad.data
    w.grad.data.zero_()
    b.grad.data.zero_()
