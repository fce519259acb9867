# expect: wrong_gradient
# Mixes .data into the loss: one factor of the square is cut from the graph.
import torch

w1 = torch.tensor([1.0], requires_grad=True)
w2 = torch.tensor([1.0], requires_grad=True)
b = torch.tensor([1.0], requires_grad=True)


def forward(x):
    return w1 * x**2 + w2 * x + b



def loss(x, y):
    tracked = forward(x) - y
    untracked = w1.data * x**2 + w2.data * x + b.data - y
    return tracked * untracked


def update(lr):
    for p in (w1, w2, b):
        p.data = p.data - lr * p.grad.data
        p.grad.data.zero_()
