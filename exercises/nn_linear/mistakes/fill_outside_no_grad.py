# expect: runtime_error
# Fills the parameters in place while autograd tracks them: PyTorch refuses an in-place change of a leaf that requires grad.
import torch
from torch import nn


def model_from(w0, b0):
    model = nn.Linear(1, 1)
    model.weight.fill_(w0)
    model.bias.fill_(b0)
    return model


def columns(xs, ys):
    return torch.tensor(xs).reshape(-1, 1), torch.tensor(ys).reshape(-1, 1)


def first_gradients(xs, ys, w0, b0):
    model = model_from(w0, b0)
    x, y = columns(xs, ys)
    nn.MSELoss()(model(x), y).backward()
    return model.weight.grad, model.bias.grad


def fit(xs, ys, w0, b0, lr, epochs):
    model = model_from(w0, b0)
    x, y = columns(xs, ys)
    criterion = nn.MSELoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    losses = []
    for _ in range(epochs):
        loss = criterion(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return model.weight, model.bias, torch.tensor(losses)
