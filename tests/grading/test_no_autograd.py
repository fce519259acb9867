"""Gradients that did not come from autograd are named (`no_autograd`), however they were handed in.

Each way of replacing autograd runs in the real sandbox, on the same warm sandboxes one after
another; after each, another student's correct file still scores 100 (the replaced functions
lived and died in that submission's own child).
"""

from __future__ import annotations

import textwrap

import pytest
from submissions import GOOD_LINEAR

HEAD = textwrap.dedent(
    """\
    import torch

    w = torch.tensor([1.0], requires_grad=True)
    last = {}


    def forward(x):
        return x * w


    def by_hand():
        x, y = last["x"], last["y"]
        return (2 * (x * w - y) * x).detach()


    def update(lr):
        w.data = w.data - lr * w.grad.data
        w.grad.data.zero_()
    """
)
LOSS = "\n\ndef loss(x, y):\n    last.update(x=x, y=y)\n    return (forward(x) - y) ** 2\n"

REPLACEMENTS = {
    "Tensor.backward": LOSS + "\n\ndef backward(self, *args, **kwargs):\n    w.grad = by_hand()\n\n\ntorch.Tensor.backward = backward\n",
    "autograd.backward": LOSS + "\n\ndef backward(tensors, *args, **kwargs):\n    w.grad = by_hand()\n\n\ntorch.autograd.backward = backward\n",
    "grad-property": LOSS + "\n\ntorch.Tensor.grad = property(lambda self: by_hand() if self is w else None, lambda self, value: None)\n",
    "tensor-subclass": (
        "\n\nclass ByHand(torch.Tensor):\n    def backward(self, *args, **kwargs):\n        w.grad = by_hand()\n"
        "\n\ndef loss(x, y):\n    last.update(x=x, y=y)\n    return ((forward(x) - y) ** 2).as_subclass(ByHand)\n"
    ),
    "backward-then-overwrite": LOSS + (
        "\n\noriginal = torch.Tensor.backward\n\n\ndef backward(self, *args, **kwargs):\n    original(self, *args, **kwargs)\n"
        "    w.grad.copy_(by_hand())\n\n\ntorch.Tensor.backward = backward\n"
    ),
}


@pytest.mark.parametrize("how", list(REPLACEMENTS), ids=list(REPLACEMENTS))
def test_gradients_not_from_autograd_are_named_and_fail(grade, pool, how):
    replaced_before = pool.replaced
    report = grade("linear", HEAD + REPLACEMENTS[how])
    assert report.outcome == "ok", report.message
    assert report.codes[0] == "no_autograd", report.to_json()["diagnoses"]
    assert "did not come from autograd" in report.diagnoses[0].message
    failed = {check.id: check.message for check in report.checks if not check.passed}
    assert {"gradients", "trace", "hidden_1", "hidden_2"} <= set(failed)
    assert "did not come from autograd at step 1" in failed["gradients"]
    assert report.first_divergence["quantity"] == "no_autograd" and report.first_divergence["step"] == 1
    assert grade("linear", GOOD_LINEAR).is_full_score
    assert pool.replaced == replaced_before

