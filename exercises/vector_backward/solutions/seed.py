# Seed 001's examples and prints, kept; wrapped in the functions the exercise asks for.
import torch

x = torch.tensor(3.0, requires_grad=True)
y = torch.tensor(7.0, requires_grad=True)
z = x + y
z.backward()
print(x.grad, y.grad, z)

x = torch.ones(4, requires_grad=True)
z = x + 2
z.backward(torch.ones_like(z))
print(x.grad)


def scalar_sum(a, b):
    x = torch.tensor(a, requires_grad=True)
    y = torch.tensor(b, requires_grad=True)
    z = x + y
    z.backward()
    return x.grad, y.grad, z


def grad_with_ones(n):
    x = torch.ones(n, requires_grad=True)
    z = x + 2
    z.backward(torch.ones_like(z))
    return x.grad


def grad_with_weights(n, weights):
    x = torch.ones(n, requires_grad=True)
    z = x + 2
    z.backward(torch.tensor([float(w) for w in weights]))
    return x.grad
