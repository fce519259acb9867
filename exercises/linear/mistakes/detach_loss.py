# expect: detached_loss
# .detach() cuts the prediction from the graph.
import torch

w = torch.tensor([1.0], requires_grad=True)


def forward(x):
    return (x * w).detach()


def loss(x, y):
    return torch.tensor((forward(x) - y) ** 2, requires_grad=True)


def update(lr):
    w.data = w.data - lr * w.grad.data
    w.grad.data.zero_()
