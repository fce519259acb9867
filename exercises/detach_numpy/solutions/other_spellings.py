# Correct, written differently: .data shares memory as detach() does, no_grad writes, numpy(force=True).
import torch


def detached(data):
    t1 = torch.Tensor(data).requires_grad_()
    return [t1, t1.data]


def change_through_data(data, value):
    t1 = torch.tensor(data, requires_grad=True)
    t2 = t1.detach()
    with torch.no_grad():
        t1[0] = value
    return t2


def to_numpy(data):
    return torch.tensor(data, requires_grad=True).numpy(force=True)
