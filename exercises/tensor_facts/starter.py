import torch


def float_tensor(data):
    """A tensor of `data` that is always float32, whatever the numbers (the default tensor type)."""
    raise NotImplementedError("write float_tensor(data)")


def inferred_tensor(data):
    """A tensor of `data` whose dtype follows the numbers: integers give int64, floats float32."""
    raise NotImplementedError("write inferred_tensor(data)")


def leaf_and_result(a):
    """x = a as a tensor that requires grad, y = x * 2; return (x, y)."""
    raise NotImplementedError("write leaf_and_result(a)")


def under_no_grad(a):
    """x = a as a tensor that requires grad; return y = x * 2 computed under torch.no_grad()."""
    raise NotImplementedError("write under_no_grad(a)")


def turned_on(data):
    """A tensor of the floats `data`, made without requires_grad and then switched on in place; return it."""
    raise NotImplementedError("write turned_on(data)")
