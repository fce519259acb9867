# expect: wrong_requires_grad
# Returns the first derivative detached: right value, but no longer part of the graph.
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
    return dy.detach(), d2
