# The seed tutorial's program: its forward pass and MSE loss as functions, plus the update it
# leaves for later ("后续更新梯度"), and its own demonstration run at import.
import torch

x = torch.ones(2, 5)
y = torch.zeros(2, 3)

w = torch.randn(5, 3, requires_grad=True)
b = torch.randn(3, requires_grad=True)
print(w)
print(b)

criterion = torch.nn.MSELoss()  # 均方差


def forward(x):
    return torch.matmul(x, w) + b


def loss(x, y):
    return criterion(forward(x), y)


def update(lr):
    w.data = w.data - lr * w.grad.data
    b.data = b.data - lr * b.grad.data
    w.grad.data.zero_()
    b.grad.data.zero_()


z = forward(x)
print(z)
l = loss(x, y)
print(l)
l.backward()
print(w.grad)
print(b.grad)
