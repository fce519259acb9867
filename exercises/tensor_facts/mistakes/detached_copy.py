# expect: wrong_leaf
# y is detached, then asked to require grad again: a new leaf with no history of the product.
import torch


def float_tensor(data):
    return torch.Tensor(data)


def inferred_tensor(data):
    return torch.tensor(data)


def leaf_and_result(a):
    x = torch.tensor(a, requires_grad=True)
    return x, (x * 2).detach().requires_grad_()


def under_no_grad(a):
    x = torch.tensor(a, requires_grad=True)
    with torch.no_grad():
        return x * 2


def turned_on(data):
    return torch.tensor(data).requires_grad_(True)
