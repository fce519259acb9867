# expect: wrong_gradient
# Squares the error as e * e.detach(): the loss value is right, but half the gradient is lost.
import torch

w = torch.tensor([1.0], requires_grad=True)


def forward(x):
    return x * w


def loss(x, y):
    error = forward(x) - y
    return error * error.detach()


def update(lr):
    w.data = w.data - lr * w.grad.data
    w.grad.data.zero_()
