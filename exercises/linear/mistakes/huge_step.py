# expect: diverged
# A step a thousand times too large: the weight oscillates and explodes to inf and NaN.
import torch

w = torch.tensor([1.0], requires_grad=True)


def forward(x):
    return x * w


def loss(x, y):
    return (forward(x) - y) ** 2


def update(lr):
    w.data = w.data - 1000 * lr * w.grad.data
    w.grad.data.zero_()
