"""The `calls` kind's part of the trace: a case's arguments, and what each function returned.

Shared by the sandbox loop and the trusted judge; standard library and msgspec only.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

import msgspec

from grader.trace import (
    MAX_ITEMS,
    MAX_NAMES,
    Count,
    Described,
    Error,
    Frame,
    Message,
    Name,
    Nothing,
    Number,
    Numbers,
    Other,
    Shape,
    Tensor,
)

MAX_DEPTH = 3  # of nested sequences; deeper is "other"


class Case(Frame):
    """The arguments each function of the contract is called with, as JSON values."""

    name: str
    hidden: bool
    args: dict[str, list[Any]]


class Bool(Described, tag="bool"):
    kind: ClassVar[str] = "bool"
    value: bool


class Str(Described, tag="str"):
    kind: ClassVar[str] = "str"
    value: Message


class Array(Described, tag="ndarray"):
    """A NumPy array of numbers: its shape, dtype and first values, flat, as floats."""

    kind: ClassVar[str] = "ndarray"
    shape: Shape
    dtype: Name
    values: Numbers


class Sequence(Described, tag="sequence"):
    """A tuple or list: its first MAX_ITEMS items, and how many it had."""

    kind: ClassVar[str] = "sequence"
    items: Annotated[list[Returned], msgspec.Meta(max_length=MAX_ITEMS)]
    length: Count


Returned = Tensor | Number | Nothing | Other | Bool | Str | Array | Sequence


class Call(Frame):
    """One call: what it returned, or the exception it raised (exactly one of the two)."""

    value: Returned | None = None
    error: Error | None = None


class CaseRecord(Frame):
    name: Name
    calls: Annotated[dict[Name, Call], msgspec.Meta(max_length=MAX_NAMES)]


