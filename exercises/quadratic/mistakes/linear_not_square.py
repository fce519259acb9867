# expect: wrong_forward
# Uses x where the model has x squared.
import torch

w1 = torch.tensor([1.0], requires_grad=True)
w2 = torch.tensor([1.0], requires_grad=True)
b = torch.tensor([1.0], requires_grad=True)


def forward(x):
    return w1 * x + w2 * x + b


def loss(x, y):
    return (forward(x) - y) ** 2


def update(lr):
    w1.data = w1.data - lr * w1.grad.data
    w2.data = w2.data - lr * w2.grad.data
    b.data = b.data - lr * b.grad.data
    w1.grad.data.zero_()
    w2.grad.data.zero_()
    b.grad.data.zero_()
