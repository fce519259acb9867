# expect: runtime_error
# The first backward() frees the graph; the second has nothing to go through without retain_graph=True.
import torch


def backward_twice(a):
    x = torch.tensor(a, requires_grad=True)
    y = x**2
    y.backward()
    first = x.grad.clone()
    y.backward()
    return first, x.grad


def second_derivative(a):
    x = torch.tensor(a, requires_grad=True)
    y = x**3
    (dy,) = torch.autograd.grad(y, x, create_graph=True)
    (d2,) = torch.autograd.grad(dy, x)
    return dy, d2

