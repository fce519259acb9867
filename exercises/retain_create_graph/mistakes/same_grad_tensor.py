# expect: wrong_value
# Keeps x.grad itself as "first": the second backward adds into that very tensor, so both read 4a.
import torch


def backward_twice(a):
    x = torch.tensor(a, requires_grad=True)
    y = x**2
    y.backward(retain_graph=True)
    first = x.grad
    y.backward()
    return first, x.grad


def second_derivative(a):
    x = torch.tensor(a, requires_grad=True)
    y = x**3
    (dy,) = torch.autograd.grad(y, x, create_graph=True)
    (d2,) = torch.autograd.grad(dy, x)
    return dy, d2

