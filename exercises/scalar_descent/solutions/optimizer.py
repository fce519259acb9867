# Correct, written differently: optim.SGD does the step and zero_grad clears the gradient.
import torch


def one_step(w0, lr):
    w = torch.tensor(float(w0), requires_grad=True)
    (2 * w.pow(2)).backward()
    return w - lr * w.grad


def minimise(w0, lr, steps):
    w = torch.tensor(float(w0), requires_grad=True)
    optimizer = torch.optim.SGD([w], lr=lr)
    weights, grads, losses = torch.zeros(steps), torch.zeros(steps), torch.zeros(steps)
    for step in range(steps):
        optimizer.zero_grad()
        loss = w * w + 20
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            weights[step], grads[step], losses[step] = w, w.grad, loss
    return weights, grads, losses
