# expect: detached_loss
# Returns the loss as a Python number: it has left the graph, and backward() has nothing to follow.
import torch

w = torch.randn(1, requires_grad=True)
criterion = torch.nn.MSELoss()


def forward(x):
    return w * x


def loss(x, y):
    return criterion(y, forward(x)).item()


def update(lr):
    global w
    w = (w - lr * w.grad).detach().requires_grad_(True)
