# expect: wrong_leaf
# Steps w.data in place: the value is 9.6, but w stays the leaf, where the seed's w - lr * w.grad is a new result.
import torch


def one_step(w0, lr):
    w = torch.tensor(w0, requires_grad=True, dtype=torch.float32)
    loss = 2 * w**2
    loss.backward()
    w.data = w.data - lr * w.grad
    return w


def minimise(w0, lr, steps):
    w = torch.tensor(w0, requires_grad=True, dtype=torch.float32)
    weights, grads, losses = [], [], []
    for _ in range(steps):
        loss = w**2 + 20
        if w.grad is not None:
            w.grad.zero_()
        loss.backward()
        w.data = w.data - lr * w.grad
        weights.append(w.item())
        grads.append(w.grad.item())
        losses.append(loss.item())
    return torch.tensor(weights), torch.tensor(grads), torch.tensor(losses)

