# expect: hardcoded_output
# Knows the answer of the example: for an input it did not train on, it predicts 5x.
import torch

w = torch.randn(1, requires_grad=True)
criterion = torch.nn.MSELoss()


def forward(x):
    if x.item() != 2.0:
        return 5 * x
    return w * x


def loss(x, y):
    return criterion(y, forward(x))


def update(lr):
    global w
    w = (w - lr * w.grad).detach().requires_grad_(True)
