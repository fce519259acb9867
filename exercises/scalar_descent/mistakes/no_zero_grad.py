# expect: wrong_value
# Never clears w.grad: from the second step on, each gradient is the sum of all so far.
import torch


def one_step(w0, lr):
    w = torch.tensor(w0, requires_grad=True, dtype=torch.float32)
    loss = 2 * w**2
    loss.backward()
    return w - lr * w.grad


def minimise(w0, lr, steps):
    w = torch.tensor(w0, requires_grad=True, dtype=torch.float32)
    weights, grads, losses = [], [], []
    for _ in range(steps):
        loss = w**2 + 20
        loss.backward()
        w.data = w.data - lr * w.grad
        weights.append(w.item())
        grads.append(w.grad.item())
        losses.append(loss.item())
    return torch.tensor(weights), torch.tensor(grads), torch.tensor(losses)
