# expect: wrong_leaf
# Returns x * 1 for x: a result of the graph, not the leaf itself.
import torch


def float_tensor(data):
    return torch.Tensor(data)


def inferred_tensor(data):
    return torch.tensor(data)


def leaf_and_result(a):
    x = torch.tensor(a, requires_grad=True)
    return x * 1, x * 2


def under_no_grad(a):
    x = torch.tensor(a, requires_grad=True)
    with torch.no_grad():
        return x * 2


def turned_on(data):
    return torch.tensor(data).requires_grad_(True)
