# expect: missing_zero_grad
# The seed's first program: w is stepped in place but its gradient is never cleared, so each
# backward() adds to the last one (-47.06, then -94.11, -141.17 in the tutorial).
import torch

w = torch.randn(1, requires_grad=True)
criterion = torch.nn.MSELoss()


def forward(x):
    return w * x


def loss(x, y):
    return criterion(y, forward(x))


def update(lr):
    w.data -= lr * w.grad.data
