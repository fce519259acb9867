"""Reference: the seed's quadratic model, its update lines moved into update(lr)."""
import torch

w1 = torch.Tensor([1.0])
w1.requires_grad = True
w2 = torch.Tensor([1.0])
w2.requires_grad = True
b = torch.Tensor([1.0])
b.requires_grad = True


def forward(x):
    return w1 * x**2 + w2 * x + b


def loss(x, y):
    y_pred = forward(x)
    return (y_pred - y) ** 2


def update(lr):
    w1.data = w1.data - lr * w1.grad.data
    w2.data = w2.data - lr * w2.grad.data
    b.data = b.data - lr * b.grad.data
    w1.grad.data.zero_()
    w2.grad.data.zero_()
    b.grad.data.zero_()
