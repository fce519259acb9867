# expect: graph_reused
# Calls backward() itself inside loss; the grader's backward() then finds the graph freed.
import torch

w = torch.tensor([1.0], requires_grad=True)


def forward(x):
    return x * w


def loss(x, y):
    l = (forward(x) - y) ** 2
    l.backward()
    w.grad.zero_()
    return l


def update(lr):
    w.data = w.data - lr * w.grad.data
    w.grad.data.zero_()
