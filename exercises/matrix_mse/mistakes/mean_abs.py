# expect: wrong_loss
# Mean absolute error instead of mean squared error.
import torch

w = torch.randn(5, 3, requires_grad=True)
b = torch.randn(3, requires_grad=True)


def forward(x):
    return torch.matmul(x, w) + b


def loss(x, y):
    return (forward(x) - y).abs().mean()


def update(lr):
    w.data = w.data - lr * w.grad.data
    b.data = b.data - lr * b.grad.data
    w.grad.data.zero_()
    b.grad.data.zero_()
