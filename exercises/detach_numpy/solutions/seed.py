# Seed 004's example and prints, kept; then the functions the exercise asks for.
import torch

t1 = torch.tensor([10, 20], requires_grad=True, dtype=torch.float32)
print(f't1:{t1},type:{type(t1)}')
t2 = t1.detach()
print(f"t2:{t2},type:{type(t2)}")
t1.data[0] = 100
print(f"t1:{t1},type:{type(t1)}")
print(f"t2:{t2},type:{type(t2)}")
print(f"t1:{t1}{t1.requires_grad}")
print(f"t2:{t2}{t2.requires_grad}")
n1 = t2.numpy()
print(f"n1:{n1},type:{type(n1)}")
n2 = t1.detach().numpy()
print(f"n2:{n2},type:{type(n2)}")


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
    return t1.detach().numpy()
