# expect: runtime_error
# Calls backward() on the vector z without a gradient: autograd can only do that for a scalar.
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
    z.backward()
    return x.grad


def grad_with_weights(n, weights):
    x = torch.ones(n, requires_grad=True)
    z = x + 2
    z.backward(torch.Tensor(weights))
    return x.grad
