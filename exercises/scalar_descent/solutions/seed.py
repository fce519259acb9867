# Seed 004's programs and prints, kept; then the functions the exercise asks for.
import torch

w = torch.tensor(10, requires_grad=True, dtype=torch.float32)
loss = 2 * w**2
loss.backward()
lr = 0.01
w = w - lr * w.grad
print("更新后的权重为:", w)

w = torch.tensor(10, requires_grad=True, dtype=torch.float32)
for i in range(1, 101):
    loss = w**2 + 20
    if w.grad is not None:
        w.grad.zero_()
    loss.backward()
    w.data = w.data - lr * w.grad
    print(f'第{i}次，权重初始值:{w}, 梯度：{w.grad}, loss {loss}')


def one_step(w0, lr):
    w = torch.tensor(w0, requires_grad=True, dtype=torch.float32)
    loss = 2 * w**2
    loss.backward()
    return w - lr * w.grad


def minimise(w0, lr, steps):
    w = torch.tensor(w0, requires_grad=True, dtype=torch.float32)
    table = []
    for _ in range(steps):
        loss = w**2 + 20
        if w.grad is not None:
            w.grad.zero_()
        loss.backward()
        w.data = w.data - lr * w.grad
        table.append((w.item(), w.grad.item(), loss.item()))
    weights, grads, losses = zip(*table)
    return torch.tensor(weights), torch.tensor(grads), torch.tensor(losses)
