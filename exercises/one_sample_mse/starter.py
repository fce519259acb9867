import torch

# The model's only parameter: a one-element float tensor that requires grad.
w = torch.randn(1, requires_grad=True)
criterion = torch.nn.MSELoss()


def forward(x):
    """Return the prediction w * x (x is a one-element tensor)."""
    raise NotImplementedError("write forward(x)")


def loss(x, y):
    """Return the mean squared error between y and forward(x), with `criterion`, in the autograd graph."""
    raise NotImplementedError("write loss(x, y)")


def update(lr):
    """One gradient-descent step on w with learning rate lr; the next backward() must not add to this gradient."""
    raise NotImplementedError("write update(lr)")
