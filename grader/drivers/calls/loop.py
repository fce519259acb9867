"""The `calls` kind in the sandbox: each function of the contract on a case's arguments.

Mounted into the sandbox with the harness: standard library, torch, the trace types and the
recording primitives only.
"""

from __future__ import annotations

import copy
import types
from typing import Any

from grader.drivers.calls.trace import (
    MAX_DEPTH,
    Array,
    Bool,
    Call,
    Case,
    CaseRecord,
    Returned,
    Sequence,
    Str,
)
from grader.record import describe, error_record, text_of
from grader.trace import MAX_ITEMS, MAX_MESSAGE_CHARS, MAX_RECORDED_VALUES

CASE_TYPE = Case


def describe_returned(value: Any, depth: int = 0) -> Returned:
    """`describe`, and also what such a function may hand back: a bool, a string, a NumPy
    array, or a short tuple or list of those."""
    if isinstance(value, bool):
        return Bool(value)
    if isinstance(value, str):
        return Str(text_of(value, MAX_MESSAGE_CHARS))
    if isinstance(value, (list, tuple)) and depth < MAX_DEPTH:
        return Sequence(items=[describe_returned(item, depth + 1) for item in value[:MAX_ITEMS]], length=len(value))
    if type(value).__module__ == "numpy" and type(value).__name__ == "ndarray" and value.dtype.kind in "biuf":
        flat = value.reshape(-1)[:MAX_RECORDED_VALUES].astype("float64").tolist()
        return Array(shape=list(value.shape), dtype=str(value.dtype), values=flat)
    return describe(value)


def run_case(module: types.ModuleType, case: Case, source_lines: list[str]) -> CaseRecord:
    """Each function on its arguments, and what it returned.

    One function that raises does not stop the others: each call is its own record.
    """
    record = CaseRecord(name=case.name, calls={})
    for name, args in case.args.items():
        try:
            returned = getattr(module, name)(*copy.deepcopy(args))  # a fresh copy for each call
            record.calls[name] = Call(value=describe_returned(returned))
        except BaseException as error:  # student code may raise anything, SystemExit included
            record.calls[name] = Call(error=error_record(error, source_lines, "call", None))
    return record
