# expect: lost_requires_grad
# Builds new tensors from .item() values: they do not require grad.
import torch

w1 = torch.tensor([1.0], requires_grad=True)
w2 = torch.tensor([1.0], requires_grad=True)
b = torch.tensor([1.0], requires_grad=True)


def forward(x):
    return w1 * x**2 + w2 * x + b


def loss(x, y):
    return (forward(x) - y) ** 2


def update(lr):
    global w1, w2, b
    w1 = torch.tensor([w1.item() - lr * w1.grad.item()])
    w2 = torch.tensor([w2.item() - lr * w2.grad.item()])
    b = torch.tensor([b.item() - lr * b.grad.item()])
