import torch


def one_step(w0, lr):
    """w = w0 (float32, requires grad), loss = 2 * w ** 2; backward, then return w - lr * w.grad."""
    raise NotImplementedError("write one_step(w0, lr)")


def minimise(w0, lr, steps):
    """Minimise loss = w ** 2 + 20 from w = w0 by `steps` gradient-descent steps.
    Return three float32 tensors of length `steps`: w after each step, the gradient, and the loss (before the step)."""
    raise NotImplementedError("write minimise(w0, lr, steps)")
