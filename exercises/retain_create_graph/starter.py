import torch


def backward_twice(a):
    """x = a (requires grad), y = x ** 2; backward from y twice through the same graph.
    Return (x.grad after the first backward, x.grad after the second)."""
    raise NotImplementedError("write backward_twice(a)")


def second_derivative(a):
    """x = a (requires grad), y = x ** 3. Return (dy/dx, d2y/dx2), dy/dx still in the graph."""
    raise NotImplementedError("write second_derivative(a)")
