# Correct, written differently: FloatTensor, as_tensor, mul, set_grad_enabled, an explicit attribute.
import torch


def float_tensor(data):
    return torch.FloatTensor(data)


def inferred_tensor(data):
    return torch.as_tensor(data)


def leaf_and_result(a):
    x = torch.tensor(float(a))
    x.requires_grad = True
    return [x, x.mul(2)]


def under_no_grad(a):
    x = torch.tensor(a, requires_grad=True)
    with torch.set_grad_enabled(False):
        y = 2 * x
    return y


def turned_on(data):
    t = torch.tensor(data, dtype=torch.float32)
    t.requires_grad = True
    return t
