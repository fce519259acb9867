# expect: wrong_loss
# Uses the absolute error instead of the squared error.
import torch

w = torch.tensor([1.0], requires_grad=True)


def forward(x):
    return x * w


def loss(x, y):
    return torch.abs(forward(x) - y)


def update(lr):
    w.data = w.data - lr * w.grad.data
    w.grad.data.zero_()
