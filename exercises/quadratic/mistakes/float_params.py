# expect: lost_requires_grad
# Turns the parameters into plain Python floats.
import torch

w1 = torch.tensor([1.0], requires_grad=True)
w2 = torch.tensor([1.0], requires_grad=True)
b = torch.tensor([1.0], requires_grad=True)


def forward(x):
    return w1 * x**2 + w2 * x + b


def loss(x, y):
    return (forward(x) - y) ** 2


def update(lr):
    global w1, w2, b
    w1 = w1.item() - lr * w1.grad.item()
    w2 = w2.item() - lr * w2.grad.item()
    b = b.item() - lr * b.grad.item()
