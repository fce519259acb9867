# Correct, written differently: w stays the same tensor, stepped in place under no_grad and zeroed.
import torch
import torch.nn.functional as F

w = torch.tensor([0.0], requires_grad=True)


def forward(x):
    return x * w


def loss(x, y):
    return F.mse_loss(forward(x), y)


def update(lr):
    with torch.no_grad():
        w.sub_(lr * w.grad)
        w.grad.zero_()
