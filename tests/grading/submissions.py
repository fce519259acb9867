"""Source code shared by the grading tests."""

from __future__ import annotations

import textwrap

# A correct `linear` solution, written the seed's way; tests break it one line at a time.
GOOD_LINEAR = textwrap.dedent(
    """\
    import torch

    w = torch.tensor([1.0], requires_grad=True)


    def forward(x):
        return x * w


    def loss(x, y):
        return (forward(x) - y) ** 2


    def update(lr):
        w.data = w.data - lr * w.grad.data
        w.grad.data.zero_()
    """
)
