# Correct: the arithmetic of every step in float64, the parameter kept a float32 leaf.
import torch

w = torch.tensor([1.0], requires_grad=True)


def forward(x):
    return torch.tensor(x, dtype=torch.float64) * w.double()


def loss(x, y):
    return (forward(x) - torch.tensor(y, dtype=torch.float64)) ** 2


def update(lr):
    step = lr * w.grad.double()
    w.data = (w.data.double() - step).float()
    w.grad = None
