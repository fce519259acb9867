import torch
from torch import nn


def first_gradients(xs, ys, w0, b0):
    """An nn.Linear(1, 1) with weight w0 and bias b0; one backward of nn.MSELoss on all samples.
    Return (weight.grad, bias.grad)."""
    raise NotImplementedError("write first_gradients(xs, ys, w0, b0)")


def fit(xs, ys, w0, b0, lr, epochs):
    """The same model, trained for `epochs` full-batch steps of optim.SGD with learning rate lr.
    Return (model.weight, model.bias, the loss of each epoch as a float32 tensor)."""
    raise NotImplementedError("write fit(xs, ys, w0, b0, lr, epochs)")
