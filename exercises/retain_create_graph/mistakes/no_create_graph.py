# expect: runtime_error
# Without create_graph=True the first derivative is a plain number: it cannot be differentiated again.
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
    (dy,) = torch.autograd.grad(y, x)
    (d2,) = torch.autograd.grad(dy, x)
    return dy, d2
