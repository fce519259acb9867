"""Closeness of recorded numbers, as torch.isclose has it: what every kind's judge compares with."""

from __future__ import annotations

import math
from collections.abc import Sequence

from grader.spec import Tolerance


def is_close(actual: Sequence[float] | None, expected: Sequence[float] | None, tol: Tolerance) -> bool:
    """Elementwise torch.isclose semantics; NaN is never close, infinities only to themselves."""
    if actual is None or expected is None or len(actual) != len(expected):
        return False
    if actual == expected and not math.isnan(sum(actual)):
        return True  # the same numbers (most steps of most runs): close under any tolerance
    return all(_scalar_close(a, e, tol) for a, e in zip(actual, expected))


def _scalar_close(actual: float, expected: float, tol: Tolerance) -> bool:
    if math.isnan(actual) or math.isnan(expected):
        return False
    if math.isinf(actual) or math.isinf(expected):
        return actual == expected
    return abs(actual - expected) <= tol.atol + tol.rtol * abs(expected)
