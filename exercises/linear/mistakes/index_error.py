# expect: runtime_error
# Indexes past the end of the one-element weight.
import torch

w = torch.tensor([1.0], requires_grad=True)


def forward(x):
    return x * w[1]


def loss(x, y):
    return (forward(x) - y) ** 2


def update(lr):
    w.data = w.data - lr * w.grad.data
    w.grad.data.zero_()
