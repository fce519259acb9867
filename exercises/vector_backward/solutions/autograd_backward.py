# Correct, written differently: torch.autograd.backward with grad_tensors, and a list returned.
import torch


def scalar_sum(a, b):
    x, y = torch.tensor(float(a), requires_grad=True), torch.tensor(float(b), requires_grad=True)
    z = torch.add(x, y)
    torch.autograd.backward(z)
    return [x.grad, y.grad, z]


def grad_with_ones(n):
    x = torch.ones(n).requires_grad_()
    z = x + 2
    torch.autograd.backward(z, grad_tensors=torch.ones(n))
    return x.grad


def grad_with_weights(n, weights):
    x = torch.ones(n).requires_grad_()
    z = x + 2
    torch.autograd.backward(z, grad_tensors=torch.tensor(weights, dtype=torch.float32))
    return x.grad
