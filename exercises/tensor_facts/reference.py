"""Reference: the tensor facts of seeds 000 and 001, one function each."""
import torch


def float_tensor(data):
    return torch.Tensor(data)


def inferred_tensor(data):
    return torch.tensor(data)


def leaf_and_result(a):
    x = torch.tensor(a, requires_grad=True)
    y = x * 2
    return x, y


def under_no_grad(a):
    x = torch.tensor(a, requires_grad=True)
    with torch.no_grad():
        y = x * 2
    return y


def turned_on(data):
    t = torch.tensor(data)
    t.requires_grad_()
    return t
