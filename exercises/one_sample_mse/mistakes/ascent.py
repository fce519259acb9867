# expect: wrong_sign
# Steps up the gradient instead of down.
import torch

w = torch.randn(1, requires_grad=True)
criterion = torch.nn.MSELoss()


def forward(x):
    return w * x


def loss(x, y):
    return criterion(y, forward(x))


def update(lr):
    global w
    w = (w + lr * w.grad).detach().requires_grad_(True)
