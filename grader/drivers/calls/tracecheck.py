"""What a decoded `calls` record must also hold before the judge reads it: a call for each
function of the case, each with a value or an exception (not both), values within their bounds."""

from __future__ import annotations

import math

from grader.drivers.calls.trace import (
    MAX_DEPTH,
    Array,
    Case,
    CaseRecord,
    Returned,
    Sequence,
)
from grader.trace import MAX_ITEMS, MAX_RECORDED_VALUES, consistent


def case_problem(record: CaseRecord, case: Case) -> str | None:
    if set(record.calls) != set(case.args):
        return "its calls are not the functions of the job"
    for name, call in record.calls.items():
        if (call.value is None) == (call.error is None):
            return f"call {name} has both or neither of a value and an error"
        if call.value is not None and (problem := _returned_problem(call.value, 0)):
            return f"call {name}: {problem}"
    return None


def _returned_problem(value: Returned, depth: int) -> str | None:
    if isinstance(value, Sequence):
        if depth >= MAX_DEPTH or len(value.items) != min(value.length, MAX_ITEMS):
            return "a sequence out of bounds"
        return next((p for p in (_returned_problem(item, depth + 1) for item in value.items) if p), None)
    if isinstance(value, Array):
        shaped = len(value.values) == min(math.prod(value.shape), MAX_RECORDED_VALUES)
        return None if shaped else "an array whose numbers do not match its shape"
    return None if consistent(value) else "a value whose numbers do not match its shape"

