"""The `train` kind's part of the trace: a case to run, and the record of each step of it.

Shared by the sandbox loop, which builds them, and the trusted judges, which read them; like
`grader.trace`, it depends on the standard library and msgspec only.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

from grader.trace import MAX_NAMES, Count, Error, Frame, Name, Names, Value

STEP_FIELDS = ("loss", "grads", "params", "grads_after")  # the order the loop records them in
Fault = Literal["not_tensor", "integer_dtype", "lost_requires_grad", "non_leaf"]
ValuesByName = Annotated[dict[Name, Value], msgspec.Meta(max_length=MAX_NAMES)]


class Init(Frame):
    """A parameter's initial value: its shape and its float32 values, flat."""

    shape: list[int]
    values: list[float]


class Case(Frame):
    """One run of the training loop, as the loop takes it: plain numbers, initial values drawn.

    Per-sample cases (`batch = "sample"`) hold Python floats, as the seeds' loops do; full-batch
    cases hold nested lists that the loop turns into float32 tensors.
    """

    name: str
    hidden: bool
    batch: Literal["sample", "full"]
    x: Any
    y: Any
    x_test: Any
    init: dict[str, Init]
    lr: float
    epochs: int


class Step(Frame):
    """One training step, recorded field by field as it runs (a step that raised stops short)."""

    epoch: Count
    sample: Count
    loss: Value | None = None
    grads: ValuesByName | None = None  # after backward()
    params: ValuesByName | None = None  # after update(lr)
    grads_after: ValuesByName | None = None  # after update(lr): what the next backward adds to
    faults: dict[Name, Fault] | None = None  # parameters that are no longer trainable leaves
    not_autograd: Names | None = None  # parameters whose gradient autograd's engine did not write


class CaseRecord(Frame):
    """A case's run: the forward probe at the initial values, the steps, the final prediction,
    and why it ended early (a reason the judges diagnose, or the exception)."""

    name: Name
    probe: list[Value] = []
    steps: list[Step] = []
    prediction: Value | None = None
    stopped: Literal["detached_loss", "parameter_fault"] | None = None
    error: Error | None = None
