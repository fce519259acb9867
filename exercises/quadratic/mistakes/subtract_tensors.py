# expect: non_leaf_parameter
# Rebinds every parameter to a computed tensor with history.
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
    w1 = w1 - lr * w1.grad
    w2 = w2 - lr * w2.grad
    b = b - lr * b.grad
