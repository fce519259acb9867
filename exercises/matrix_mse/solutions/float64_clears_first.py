# Correct: float64 arithmetic, gradients cleared in loss() before the new graph, optim.SGD step.
import torch
import torch.nn.functional as F

w = torch.randn(5, 3, requires_grad=True)
b = torch.randn(3, requires_grad=True)


def forward(x):
    return x.double() @ w.double() + b.double()


def loss(x, y):
    for p in (w, b):
        p.grad = None
    return F.mse_loss(forward(x), y.double())


def update(lr):
    torch.optim.SGD([w, b], lr=lr).step()
