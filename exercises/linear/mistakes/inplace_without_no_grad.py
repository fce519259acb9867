# expect: inplace_leaf_update
# Subtracts in place from w while autograd records: PyTorch refuses.
import torch

w = torch.tensor([1.0], requires_grad=True)


def forward(x):
    return x * w


def loss(x, y):
    return (forward(x) - y) ** 2


def update(lr):
    w.sub_(lr * w.grad)
    w.grad.zero_()
