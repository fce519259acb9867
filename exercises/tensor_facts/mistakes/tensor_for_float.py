# expect: wrong_dtype
# torch.tensor keeps the integers of the data: int64, where torch.Tensor always makes float32.
import torch


def float_tensor(data):
    return torch.tensor(data)


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

