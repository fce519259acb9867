"""Reference: seed 003's second program, its update line moved into update(lr)."""
import torch

w = torch.randn(1, requires_grad=True)  # the grader gives w its initial values
criterion = torch.nn.MSELoss()


def forward(x):
    return w * x


def loss(x, y):
    return criterion(y, forward(x))


def update(lr):
    global w
    w = (w - lr * w.grad).detach().requires_grad_(True)
