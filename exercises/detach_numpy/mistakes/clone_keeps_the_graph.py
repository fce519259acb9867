# expect: wrong_requires_grad
# clone() without detach() stays in the graph: it requires grad and remembers the copy.
import torch


def detached(data):
    t1 = torch.tensor(data, requires_grad=True, dtype=torch.float32)
    return t1, t1.clone()


def change_through_data(data, value):
    t1 = torch.tensor(data, requires_grad=True, dtype=torch.float32)
    t2 = t1.detach()
    t1.data[0] = value
    return t2


def to_numpy(data):
    t1 = torch.tensor(data, requires_grad=True, dtype=torch.float32)
    return t1.detach().numpy()

