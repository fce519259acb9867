import torch


def detached(data):
    """t1: a float32 tensor of `data` that requires grad; t2: t1 detached from the graph. Return (t1, t2)."""
    raise NotImplementedError("write detached(data)")


def change_through_data(data, value):
    """t1 and t2 = t1.detach() as above; then set t1's first element to `value` through t1.data. Return t2."""
    raise NotImplementedError("write change_through_data(data, value)")


def to_numpy(data):
    """A float32 tensor of `data` that requires grad, as a NumPy array."""
    raise NotImplementedError("write to_numpy(data)")
