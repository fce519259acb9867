# expect: non_leaf_parameter
# Rebinds w to `w - lr * w.grad`, a result of the graph: w is no longer a leaf and gets no .grad.
import torch

w = torch.randn(1, requires_grad=True)
criterion = torch.nn.MSELoss()


def forward(x):
    return w * x


def loss(x, y):
    return criterion(y, forward(x))


def update(lr):
    global w
    w = w - lr * w.grad
