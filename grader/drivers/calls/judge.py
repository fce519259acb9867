"""Judging the `calls` kind: what each function returned, against what the reference returned.

For exercises about autograd's facts rather than a training loop (a backward with `gradient=`,
`retain_graph`, `is_leaf`, the dtype `torch.Tensor` makes...). Each function of the contract is
one check, passed when it returns what the reference returns in every visible case; each hidden
case is one more. The first difference of each function is named: its value, its dtype, whether
it requires grad, is a leaf, which `grad_fn` made it, or the exception it raised.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from grader.closeness import is_close
from grader.drivers.base import Failure, Verdict
from grader.drivers.calls.trace import (
    Array,
    Bool,
    Case,
    CaseRecord,
    Returned,
    Sequence,
    Str,
)
from grader.report import CheckResult, Diagnosis
from grader.spec import Exercise, Tolerance
from grader.trace import Error, numbers_of

# Compared in this order: the first field that differs names the mistake.
FIELD_CODES = (
    ("kind", "wrong_value"),
    ("dtype", "wrong_dtype"),
    ("shape", "wrong_value"),
    ("requires_grad", "wrong_requires_grad"),
    ("is_leaf", "wrong_leaf"),
    ("grad_fn", "wrong_grad_fn"),
    ("length", "wrong_value"),
    ("type", "wrong_value"),
)
CODES = ("wrong_value", "wrong_dtype", "wrong_requires_grad", "wrong_leaf", "wrong_grad_fn")


@dataclass(frozen=True)
class Difference:
    """Where a returned value first differs from the reference's."""

    field: str
    expected: Any
    actual: Any


def difference(actual: Returned, expected: Returned, tol: Tolerance) -> Difference | None:
    """The first difference between two described values (`loop.describe_returned`), or None."""
    for field, _ in FIELD_CODES:
        if _field(actual, field) != _field(expected, field):
            return Difference(field, _field(expected, field), _field(actual, field))
    if isinstance(expected, Sequence) and isinstance(actual, Sequence):
        for item, wanted in zip(actual.items, expected.items, strict=True):
            found = difference(item, wanted, tol)
            if found is not None:
                return found
        return None
    if isinstance(expected, (Bool, Str)) and isinstance(actual, (Bool, Str)):
        return None if actual.value == expected.value else Difference("value", expected.value, actual.value)
    wanted, got = _values(expected), _values(actual)
    if wanted is not None and not is_close(got, wanted, tol):
        return Difference("values", wanted, got)
    return None


def _field(value: Returned, name: str) -> Any:
    """A described value's field by name; None where its kind has no such field."""
    return value.kind if name == "kind" else getattr(value, name, None)


def _values(value: Returned) -> list[float] | None:
    """The numbers of a tensor, number or array; None for other kinds."""
    return numbers_of(value) if not isinstance(value, Array) else value.values


def judge_calls(exercise: Exercise, cases: list[Case], records: list[CaseRecord], reference: dict[str, CaseRecord]) -> Verdict:
    """One check per function, one per hidden case; the first exception a visible call raised
    decides the outcome."""
    tol = exercise.tolerances["step"]
    hidden = {case.name: case.hidden for case in cases}
    passed: dict[tuple[str, str], bool] = {}
    raised: set[str] = set()  # functions that raised in a visible case
    diagnoses: dict[str, Diagnosis] = {}
    failure: Failure | None = None
    divergence = None
    for record in records:
        case, is_hidden = record.name, hidden[record.name]
        for function, call in record.calls.items():
            expected = reference[case].calls[function].value
            assert expected is not None  # the reference's calls all returned (`reference_failure`)
            found = None if call.value is None else difference(call.value, expected, tol)
            passed[case, function] = call.error is None and found is None
            if call.error is not None and not is_hidden:
                raised.add(function)
            if passed[case, function] or function in diagnoses:
                continue
            if call.error is not None:
                diagnoses[function] = _exception(function, call.error, is_hidden)
                if failure is None and not is_hidden:
                    failure = Failure(case, call.error, hidden=False)
            elif found is not None:
                diagnoses[function] = _diagnosis(function, found, is_hidden)
                if divergence is None and not is_hidden:
                    divergence = _divergence(case, function, found)
    visible = [r.name for r in records if not hidden[r.name]]
    checks = [
        _check(function, all(passed[case, function] for case in visible), exercise.points[function], function in raised)
        for function in exercise.functions
    ]
    hidden_cases = [r.name for r in records if hidden[r.name]]
    checks += [
        _hidden_check(number, all(passed[case, f] for f in exercise.functions), exercise.points["hidden"])
        for number, case in enumerate(hidden_cases, start=1)
    ]
    return Verdict(tuple(checks), tuple(diagnoses.values()), failure, divergence)


def _check(function: str, ok: bool, points: int, raised: bool) -> CheckResult:
    if ok:
        message = f"{function}() returns what the reference returns."
    else:
        message = f"{function}() raised an exception." if raised else f"{function}() returns something else than the reference."
    return CheckResult(function, ok, points if ok else 0, points, False, message)


def _hidden_check(number: int, ok: bool, points: int) -> CheckResult:
    return CheckResult(f"hidden_{number}", ok, points if ok else 0, points, True, f"Hidden case {number} {'passes' if ok else 'fails'}.")


def _diagnosis(function: str, found: Difference, hidden: bool) -> Diagnosis:
    code = dict(FIELD_CODES).get(found.field, "wrong_value")
    if hidden:
        message = f"{function}() returns the right thing in the visible case but not in a hidden one: {_WHAT[code]}"
        return Diagnosis(code, message, parameter=function, hidden=True)
    detail = f"its {found.field} is {_shown(found.actual)}, where the reference's is {_shown(found.expected)}"
    return Diagnosis(code, f"{function}() returns something else than the reference: {detail}. {_WHAT[code]}", parameter=function)


_WHAT = {
    "wrong_value": "Check the computation, and what a backward() leaves in .grad.",
    "wrong_dtype": "torch.Tensor(...) always makes float32; torch.tensor(...) keeps the type of the data (integers give int64).",
    "wrong_requires_grad": "A tensor requires grad when it was made with requires_grad=True, or computed from one outside torch.no_grad().",
    "wrong_leaf": "A tensor made directly (or detached) is a leaf; one computed from a tensor that requires grad is not.",
    "wrong_grad_fn": "grad_fn names the operation that made a tensor (AddBackward0 for +, MulBackward0 for *...); a leaf has none.",
}


def _exception(function: str, error: Error, hidden: bool) -> Diagnosis:
    where = "" if hidden or not error.line else f" at line {error.line}"
    message = "(details of hidden cases are withheld)" if hidden else error.message or ""
    return Diagnosis("runtime_error", f"{function}() raised {error.type}{where}: {message}", parameter=function, hidden=hidden)


def _shown(value: Any) -> str:
    if isinstance(value, list) and len(value) > 6:
        return f"[{', '.join(f'{v:.7g}' for v in value[:6])}, ...]"
    if isinstance(value, list):
        return f"[{', '.join(f'{v:.7g}' if isinstance(v, float) else str(v) for v in value)}]"
    return str(value)


def _divergence(case: str, function: str, found: Difference) -> dict[str, Any]:
    as_list = isinstance(found.expected, list) and isinstance(found.actual, list)
    return {
        "case": case,
        "quantity": f"{function}() {found.field}",
        "step": None,
        "epoch": None,
        "sample": None,
        "parameter": None,
        "expected": found.expected if as_list else [str(found.expected)],
        "actual": found.actual if as_list else [str(found.actual)],
    }
