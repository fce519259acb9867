# expect: wrong_requires_grad
# Returns the tensor as made, never switched on: requires_grad stays False.
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
    with torch.no_grad():
        return x * 2


def turned_on(data):
    t = torch.tensor(data)
    t.detach().requires_grad_()
    return t
