# expect: non_leaf_parameter
# Rebinds w to a computed tensor: it has history and is not a leaf.
import torch

w = torch.randn(5, 3, requires_grad=True)
b = torch.randn(3, requires_grad=True)


def forward(x):
    return torch.matmul(x, w) + b


def loss(x, y):
    return torch.nn.MSELoss()(forward(x), y)


def update(lr):
    global w, b
    w = w - lr * w.grad
    b.data = b.data - lr * b.grad.data
    b.grad.data.zero_()
