# The seeds' examples and prints kept (seed 000: torch.Tensor and torch.tensor; seed 001:
# requires_grad_, leaves and grad_fn), then the functions the exercise asks for.
import torch

print(torch.Tensor([1, 2]).dtype)
print(torch.tensor([1, 2]).dtype)
print(torch.tensor([1, 2], dtype=torch.float32).dtype)

a = torch.randn(2, 2)
a = (a * 3) / (a - 1)
print(a.requires_grad)
a.requires_grad_(True)
print(a.requires_grad)

x = torch.tensor(1.0, requires_grad=True)
y = torch.tensor(2.0, requires_grad=True)
z = x + y
print(x, y, z)


def float_tensor(data):
    return torch.Tensor(data)


def inferred_tensor(data):
    return torch.tensor(data)


def leaf_and_result(a):
    x = torch.tensor(a, requires_grad=True)
    return x, x * 2


def under_no_grad(a):
    x = torch.tensor(a, requires_grad=True)
    with torch.no_grad():
        return x * 2


def turned_on(data):
    return torch.tensor(data).requires_grad_(True)
