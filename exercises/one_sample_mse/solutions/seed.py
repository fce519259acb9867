# Seed 003's program: its loop and prints kept, the update line moved into update(lr). The seed's
# randn drew w = -2.0593...; this value reproduces what it printed.
import torch
from torch.autograd import Variable

x = torch.Tensor([2])
y = torch.Tensor([10])
loss_fn = torch.nn.MSELoss()
w = Variable(torch.tensor([-2.0593125]), requires_grad=True)


def forward(x):
    return w * x


def loss(x, y):
    y_ = forward(x)
    return loss_fn(y, y_)


def update(lr):
    global w
    w = Variable(w - lr * w.grad.data, requires_grad=True)


print(w)
for i in range(10):
    y_ = forward(x)
    l = loss(x, y)
    l.backward()
    print(w.grad.data)
    update(0.1)
    print(w)
    print(-2 * x * (y - y_))
