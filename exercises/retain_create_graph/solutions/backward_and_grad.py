# Correct, written differently: torch.autograd.backward, and the second derivative by backward().
import torch


def backward_twice(a):
    x = torch.tensor(float(a), requires_grad=True)
    y = x.pow(2)
    torch.autograd.backward(y, retain_graph=True)
    first = x.grad.detach().clone()
    torch.autograd.backward(y)
    return [first, x.grad]


def second_derivative(a):
    x = torch.tensor(a, requires_grad=True)
    y = x**3
    dy = torch.autograd.grad(y, x, create_graph=True)[0]
    dy.backward()
    return dy, x.grad
