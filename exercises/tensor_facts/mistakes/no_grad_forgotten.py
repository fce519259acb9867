# expect: wrong_requires_grad
# Computes y outside torch.no_grad(): it requires grad and remembers the product.
import torch


def float_tensor(data):
    return torch.Tensor(data)


def inferred_tensor(data):
    return torch.tensor(data)


def leaf_and_result(a):
    x = torch.tensor(a, requires_grad=True)
    return x, x * 2


def under_no_grad(a):
    x = torch.tensor(a, requires_grad=True)
    return x * 2


def turned_on(data):
    return torch.tensor(data).requires_grad_(True)
