# Correct: nn.MSELoss on float64 predictions, and an explicit SGD optimizer step.
import torch
from torch import nn

w1 = torch.tensor([1.0], requires_grad=True)
w2 = torch.tensor([1.0], requires_grad=True)
b = torch.tensor([1.0], requires_grad=True)


def forward(x):
    x = torch.tensor([x], dtype=torch.float64)
    return w1.double() * x**2 + w2.double() * x + b.double()


def loss(x, y):
    return nn.MSELoss()(forward(x), torch.tensor([y], dtype=torch.float64))


def update(lr):
    optimizer = torch.optim.SGD([w1, w2, b], lr=lr)
    optimizer.step()
    optimizer.zero_grad()
