# expect: detached_loss
# .item() turns the loss into a Python float: no graph, no gradient.
import torch

w = torch.tensor([1.0], requires_grad=True)


def forward(x):
    return x * w


def loss(x, y):
    return ((forward(x) - y) ** 2).item()


def update(lr):
    w.data = w.data - lr * w.grad.data
    w.grad.data.zero_()
