# expect: wrong_dtype
# torch.Tensor turns the integers into float32, where torch.tensor keeps them as int64.
import torch


def float_tensor(data):
    return torch.Tensor(data)


def inferred_tensor(data):
    return torch.Tensor(data)


def leaf_and_result(a):
    x = torch.tensor(a, requires_grad=True)
    return x, x * 2


def under_no_grad(a):
    x = torch.tensor(a, requires_grad=True)
    with torch.no_grad():
        return x * 2


def turned_on(data):
    return torch.tensor(data).requires_grad_(True)

