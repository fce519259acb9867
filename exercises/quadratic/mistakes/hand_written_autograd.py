# expect: no_autograd
# Replaces torch.autograd.backward (which Tensor.backward calls) with gradients worked out by hand.
import torch

w1 = torch.tensor([1.0], requires_grad=True)
w2 = torch.tensor([1.0], requires_grad=True)
b = torch.tensor([1.0], requires_grad=True)
last = {}


def forward(x):
    return w1 * x**2 + w2 * x + b


def loss(x, y):
    last.update(x=x, y=y)
    return (forward(x) - y) ** 2


def backward_by_hand(tensors, *args, **kwargs):
    x, y = last["x"], last["y"]
    with torch.no_grad():
        error = 2 * (forward(x) - y)
        w1.grad, w2.grad, b.grad = error * x**2, error * x, error


torch.autograd.backward = backward_by_hand


def update(lr):
    with torch.no_grad():
        for p in (w1, w2, b):
            p -= lr * p.grad
            p.grad = None
