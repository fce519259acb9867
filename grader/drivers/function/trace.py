"""The `function` kind's part of the trace: a case's inputs and the record of one forward and backward.

Shared by the sandbox loop and the trusted judge; standard library and msgspec only.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from grader.trace import MAX_NAMES, Error, Frame, Name, Names, Value


class Input(Frame):
    """A float64 tensor: its shape and its values, flat."""

    shape: list[int]
    values: list[float]


class Case(Frame):
    """One evaluation: the Function's class, its inputs in the order `forward` takes them, and
    the vector the backward pass starts from (the gradient of some loss with respect to the output)."""

    name: str
    hidden: bool
    function: str
    inputs: dict[str, Input]
    grad_output: Input


class CaseRecord(Frame):
    """What `apply` returned, which inputs its forward changed in place, and the gradient the
    student's backward gave each input (None where it gave none)."""

    name: Name
    output: Value | None = None
    changed: Names = []
    grads: Annotated[dict[Name, Value], msgspec.Meta(max_length=MAX_NAMES)] | None = None
    stopped: Literal["output_not_tensor", "output_shape"] | None = None
    error: Error | None = None
