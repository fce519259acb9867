# expect: wrong_grad_fn
# y = x + x has the value of x * 2, but the graph records an addition (AddBackward0).
import torch


def float_tensor(data):
    return torch.Tensor(data)


def inferred_tensor(data):
    return torch.tensor(data)


def leaf_and_result(a):
    x = torch.tensor(a, requires_grad=True)
    return x, x + x


def under_no_grad(a):
    x = torch.tensor(a, requires_grad=True)
    with torch.no_grad():
        return x * 2


def turned_on(data):
    return torch.tensor(data).requires_grad_(True)
