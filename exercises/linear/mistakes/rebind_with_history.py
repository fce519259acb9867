# expect: non_leaf_parameter
# Rebinds w to the result of a computation: w now has history and is no longer a leaf.
import torch

w = torch.tensor([1.0], requires_grad=True)


def forward(x):
    return x * w


def loss(x, y):
    return (forward(x) - y) ** 2


def update(lr):
    global w
    w = w - lr * w.grad
