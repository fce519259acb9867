# expect: inplace_leaf_update
# Subtracts in place from a leaf that requires grad, outside torch.no_grad().
import torch

w = torch.randn(5, 3, requires_grad=True)
b = torch.randn(3, requires_grad=True)


def forward(x):
    return torch.matmul(x, w) + b


def loss(x, y):
    return torch.nn.MSELoss()(forward(x), y)


def update(lr):
    global w, b
    w -= lr * w.grad
    b -= lr * b.grad
