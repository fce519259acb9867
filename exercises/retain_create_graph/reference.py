"""Reference: one graph used twice, and a derivative that is itself differentiated."""
import torch


def backward_twice(a):
    x = torch.tensor(a, requires_grad=True)
    y = x**2
    y.backward(retain_graph=True)
    first = x.grad.clone()
    y.backward()
    return first, x.grad


def second_derivative(a):
    x = torch.tensor(a, requires_grad=True)
    y = x**3
    (dy,) = torch.autograd.grad(y, x, create_graph=True)
    (d2,) = torch.autograd.grad(dy, x)
    return dy, d2
