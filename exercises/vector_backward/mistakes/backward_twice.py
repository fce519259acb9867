# expect: wrong_value
# Calls backward twice on the same graph (keeping it with retain_graph): the second adds to x.grad.
import torch


def scalar_sum(a, b):
    x = torch.tensor(a, requires_grad=True)
    y = torch.tensor(b, requires_grad=True)
    z = x + y
    z.backward()
    return x.grad, y.grad, z


def grad_with_ones(n):
    x = torch.ones(n, requires_grad=True)
    z = x + 2
    z.backward(torch.ones_like(z), retain_graph=True)
    z.backward(torch.ones_like(z))
    return x.grad


def grad_with_weights(n, weights):
    x = torch.ones(n, requires_grad=True)
    z = x + 2
    z.backward(torch.Tensor(weights))
    return x.grad
