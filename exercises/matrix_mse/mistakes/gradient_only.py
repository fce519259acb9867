# expect: no_update
# Zeroes the gradients first, then steps with the zeros.
import torch

w = torch.randn(5, 3, requires_grad=True)
b = torch.randn(3, requires_grad=True)


def forward(x):
    return torch.matmul(x, w) + b


def loss(x, y):
    return torch.nn.MSELoss()(forward(x), y)


def update(lr):
    w.grad.zero_()
    b.grad.zero_()
    with torch.no_grad():
        w.sub_(lr * w.grad)
        b.sub_(lr * b.grad)
