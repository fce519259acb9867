# expect: lost_requires_grad
# Rebinds w and b to detached results: they no longer require grad.
import torch

w = torch.randn(5, 3, requires_grad=True)
b = torch.randn(3, requires_grad=True)


def forward(x):
    return torch.matmul(x, w) + b


def loss(x, y):
    return torch.nn.MSELoss()(forward(x), y)


def update(lr):
    global w, b
    w = w.detach() - lr * w.grad
    b = b.detach() - lr * b.grad
