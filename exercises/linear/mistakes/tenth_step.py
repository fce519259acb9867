# expect: wrong_learning_rate
# Scales the step by an extra 0.1.
import torch

w = torch.tensor([1.0], requires_grad=True)


def forward(x):
    return x * w


def loss(x, y):
    return (forward(x) - y) ** 2


def update(lr):
    w.data -= 0.1 * lr * w.grad.data
    w.grad.zero_()
