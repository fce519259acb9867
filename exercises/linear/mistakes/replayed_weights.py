# expect: hardcoded_output
# Trains once on the example's data at import, then replays the recorded weights.
import torch

w = torch.tensor([1.0], requires_grad=True)
_recorded = []
_w = 1.0
for _epoch in range(100):
    for _x, _y in zip([1.0, 2.0, 3.0], [2.0, 4.0, 6.0]):
        _wt = torch.tensor([_w], requires_grad=True)
        ((_x * _wt - _y) ** 2).backward()
        _wt.data -= 0.01 * _wt.grad.data
        _w = _wt.item()
        _recorded.append(_w)
_step = 0


def forward(x):
    return x * w


def loss(x, y):
    return (forward(x) - y) ** 2


def update(lr):
    global _step
    w.data = torch.tensor([_recorded[_step % len(_recorded)]])
    w.grad.data.zero_()
    _step += 1
