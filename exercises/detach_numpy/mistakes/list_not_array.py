# expect: wrong_value
# tolist() gives a Python list, not the NumPy array that shares the tensor's memory.
import torch


def detached(data):
    t1 = torch.tensor(data, requires_grad=True, dtype=torch.float32)
    return t1, t1.detach()


def change_through_data(data, value):
    t1 = torch.tensor(data, requires_grad=True, dtype=torch.float32)
    t2 = t1.detach()
    t1.data[0] = value
    return t2


def to_numpy(data):
    t1 = torch.tensor(data, requires_grad=True, dtype=torch.float32)
    return t1.detach().tolist()
