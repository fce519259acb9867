# Correct: torch.tensor instead of torch.Tensor, and Tensor.sub_ on .data.
import torch

w = torch.tensor([1.0])
w.requires_grad_()


def forward(x):
    return x * w


def loss(x, y):
    diff = forward(x) - y
    return diff * diff


def update(lr):
    w.data.sub_(lr * w.grad.data)
    w.grad.zero_()
