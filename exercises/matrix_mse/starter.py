import torch

# The parameters: a 5x3 weight matrix and a bias of 3, float tensors that require grad.
w = torch.randn(5, 3, requires_grad=True)
b = torch.randn(3, requires_grad=True)


def forward(x):
    """Return z = x @ w + b for a batch x of shape (n, 5): a tensor of shape (n, 3)."""
    raise NotImplementedError("write forward(x)")


def loss(x, y):
    """Return the mean squared error between forward(x) and y, a one-number tensor in the graph."""
    raise NotImplementedError("write loss(x, y)")


def update(lr):
    """One gradient-descent step on w and b with learning rate lr, then clear their gradients."""
    raise NotImplementedError("write update(lr)")
