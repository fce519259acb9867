# expect: lost_requires_grad
# Rebinds w to the stepped values without requires_grad=True: the next backward() has no leaf to fill.
import torch

w = torch.randn(1, requires_grad=True)
criterion = torch.nn.MSELoss()


def forward(x):
    return w * x


def loss(x, y):
    return criterion(y, forward(x))


def update(lr):
    global w
    w = w.data - lr * w.grad.data
