import torch


def scalar_sum(a, b):
    """x = a and y = b as tensors that require grad, z = x + y, backward from z; return (x.grad, y.grad, z)."""
    raise NotImplementedError("write scalar_sum(a, b)")


def grad_with_ones(n):
    """x = n ones that require grad, z = x + 2, backward from the vector z with a gradient of ones; return x.grad."""
    raise NotImplementedError("write grad_with_ones(n)")


def grad_with_weights(n, weights):
    """As grad_with_ones, but backward with `weights` (a list of n floats) as the gradient; return x.grad."""
    raise NotImplementedError("write grad_with_weights(n, weights)")
