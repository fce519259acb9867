"""Judging the `function` kind: outputs and vector-Jacobian products against the reference's.

Each case applies the student's Function to fixed inputs and runs its backward from a fixed
output gradient, in float64. What came back is compared with the reference's own record: the
output, then each input's gradient. The first thing that departs names the mistake: a wrong
forward, a wrong gradient (which input, by how much), a saved tensor misused, or a backward
that returns the wrong number of gradients.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from grader.closeness import is_close
from grader.drivers.base import Failure, Verdict
from grader.drivers.function.trace import Case, CaseRecord
from grader.exceptions import exception_diagnosis
from grader.formatting import format_number, format_values
from grader.report import CheckResult, Diagnosis
from grader.spec import Exercise, Tolerance
from grader.trace import Error, Nothing, Other, Tensor, numbers_of, shape_of

MESSAGES = {
    "wrong_output": "forward does not compute the function ({where}): {detail}",
    "wrong_backward": (
        "The gradient that backward returns for {param} is off ({where}): {detail}. backward must return "
        "grad_output times the derivative of the output with respect to {param}, one gradient per input of forward, "
        "each of its input's shape."
    ),
    "saved_tensor_misuse": (
        "{detail} Save what backward needs with ctx.save_for_backward(...) in forward, read it back with "
        "`a, b = ctx.saved_tensors` in backward, and do not change a saved tensor in place."
    ),
    "backward_arity": (
        "backward returns {got} gradient(s), but forward takes {expected} input(s) after ctx ({where}). Return one "
        "gradient per input, in forward's order (None for an input that needs none)."
    ),
}
CODES = tuple(MESSAGES)
ARITY = re.compile(r"incorrect number of gradients \(expected (\d+), got (\d+)\)")
INVALID_GRADIENT = re.compile(r"invalid gradient at index (\d+) - got (\[[^\]]*\]) but expected shape compatible with (\[[^\]]*\])")
SAVED_WORDS = ("save_for_backward", "saved_tensor", "saved tensors")
GENERIC_EXCEPTION_CODES = ("runtime_error", "shape_mismatch", "integer_dtype")


@dataclass
class Evaluation:
    """One case: what agreed with the reference, and the mistake it shows (if any)."""

    case: Case
    record: CaseRecord
    output_ok: bool = False
    grads_ok: dict[str, bool] = field(default_factory=dict)
    diagnosis: Diagnosis | None = None
    divergence: dict[str, Any] | None = None

    @property
    def passed(self) -> bool:
        return self.record.error is None and self.output_ok and bool(self.grads_ok) and all(self.grads_ok.values())


def verdict(exercise: Exercise, cases: Sequence[Case], records: Sequence[CaseRecord], reference: Mapping[str, CaseRecord]) -> Verdict:
    by_name = {case.name: case for case in cases}
    tol = exercise.tolerances["step"]
    evaluations = [evaluate(by_name[record.name], record, reference[record.name], tol) for record in records]
    visible = [e for e in evaluations if not e.case.hidden]
    hidden = [e for e in evaluations if e.case.hidden]
    checks = [_output_check(visible, exercise.points["output"]), _gradients_check(visible, exercise.points["gradients"])]
    checks += [
        CheckResult(f"hidden_{n}", e.passed, exercise.points["hidden"] if e.passed else 0, exercise.points["hidden"], True, f"Hidden case {n} {'passes' if e.passed else 'fails'}.")
        for n, e in enumerate(hidden, start=1)
    ]
    found: dict[str, Diagnosis] = {}
    for evaluation in visible + hidden:
        if evaluation.diagnosis is not None:
            found.setdefault(evaluation.diagnosis.code, evaluation.diagnosis)
    failing = next((e for e in evaluations if e.record.error is not None), None)
    return Verdict(
        checks=tuple(checks),
        diagnoses=tuple(found.values()),
        failure=Failure(failing.case.name, failing.record.error, failing.case.hidden) if failing and failing.record.error else None,
        first_divergence=next((e.divergence for e in visible if e.divergence), None),
    )


def evaluate(case: Case, record: CaseRecord, reference: CaseRecord, tol: Tolerance) -> Evaluation:
    evaluation = Evaluation(case, record)
    got, want = record.output, reference.output
    evaluation.output_ok = isinstance(got, Tensor) and shape_of(got) == shape_of(want) and is_close(numbers_of(got), numbers_of(want), tol)
    if record.grads is not None and reference.grads is not None:
        evaluation.grads_ok = {name: _same_gradient(grad, reference.grads[name], tol) for name, grad in record.grads.items()}
    where = "in a hidden case" if case.hidden else f"case {case.name}"
    made_by = got.grad_fn if isinstance(got, Tensor) else None
    if evaluation.grads_ok and isinstance(want, Tensor) and made_by != want.grad_fn:
        evaluation.grads_ok = dict.fromkeys(evaluation.grads_ok, False)  # not the student's backward at all
    if record.error is not None:
        evaluation.diagnosis = _error_diagnosis(record.error, case, where)
    elif evaluation.output_ok and isinstance(want, Tensor) and made_by != want.grad_fn:
        detail = f"the output's grad_fn is {made_by or 'None'}, not {want.grad_fn}: call {case.function}.apply as Function defines it, so that autograd runs your backward"
        evaluation.diagnosis = _make("wrong_backward", case, where, detail=detail)
    elif not evaluation.output_ok:
        evaluation.diagnosis = _make("wrong_output", case, where, detail=_output_detail(got, want))
        evaluation.divergence = _divergence(case, "output", None, numbers_of(want), numbers_of(got))
    elif bad := next((name for name, ok in evaluation.grads_ok.items() if not ok), None):
        assert record.grads is not None and reference.grads is not None
        grad, right = record.grads[bad], reference.grads[bad]
        evaluation.divergence = _divergence(case, "grad", bad, numbers_of(right), numbers_of(grad))
        if record.changed:
            detail = f"forward changes {_names(record.changed)} in place after saving it ({where}), so backward computes with the changed values."
            evaluation.diagnosis = _make("saved_tensor_misuse", case, where, bad, detail=detail)
        else:
            evaluation.diagnosis = _make("wrong_backward", case, where, bad, detail=_gradient_detail(grad, right, case.hidden))
    return evaluation


def _same_gradient(grad: Any, right: Any, tol: Tolerance) -> bool:
    """Within tolerance, of the same shape; or no gradient where the reference gives none."""
    if isinstance(right, Nothing):
        return isinstance(grad, Nothing)
    return shape_of(grad) == shape_of(right) and is_close(numbers_of(grad), numbers_of(right), tol)


def _error_diagnosis(error: Error, case: Case, where: str) -> Diagnosis:
    """An exception of the forward or backward: autograd's own complaints about a Function first."""
    names = list(case.inputs)
    message = error.message
    if error.phase == "backward" and (arity := ARITY.search(message)):
        return _make("backward_arity", case, where, expected=arity[1], got=arity[2])
    if error.phase == "backward" and (invalid := INVALID_GRADIENT.search(message)):
        index = int(invalid[1])
        name = names[index] if index < len(names) else f"input {index}"
        return _make("wrong_backward", case, where, name, detail=f"it has shape {invalid[2]} where {name} has shape {invalid[3]}")
    if any(word in message for word in SAVED_WORDS) or "saved_tensors" in (error.text or ""):
        line = f" (line {error.line}: `{error.text}`)" if error.line and error.text and not case.hidden else ""
        return _make("saved_tensor_misuse", case, where, detail=f"{error.phase} fails on a saved tensor{line}: {error.type}: {message}.")
    found = exception_diagnosis(error, hidden=case.hidden)
    # The classic errors of a training loop (a detached loss, a missing `global`...) speak of
    # loss(x, y) and update(lr): here the exception is only what it is.
    return found if found.code in GENERIC_EXCEPTION_CODES else exception_diagnosis(error, hidden=case.hidden, code="runtime_error")


def _make(code: str, case: Case, where: str, parameter: str | None = None, **fields: str) -> Diagnosis:
    fields.setdefault("param", f"`{parameter}`" if parameter else "an input")
    text = MESSAGES[code].format(where=where, **fields)
    return Diagnosis(code, text, parameter=parameter, hidden=case.hidden)


def _output_detail(got: Any, want: Any) -> str:
    if not isinstance(got, Tensor):
        what = got.type if isinstance(got, Other) else got.kind if got is not None else "nothing"
        return f"apply returns {what}, not a tensor."
    if shape_of(got) != shape_of(want):
        return f"its output has shape {shape_of(got)}, where the function's has shape {shape_of(want)}."
    return f"expected {format_values(numbers_of(want))}, got {format_values(numbers_of(got))}."


def _gradient_detail(grad: Any, right: Any, hidden: bool) -> str:
    got, want = numbers_of(grad), numbers_of(right)
    if got is None:
        return "backward returns None for it"
    if shape_of(grad) != shape_of(right):
        return f"it has shape {shape_of(grad)} where the input has shape {shape_of(right)}"
    if hidden:
        return "its values are not the derivative's"
    ratio = _common_ratio(got, want)
    if ratio is not None:
        return f"it is {format_number(ratio)} times the right one"
    if not got or len(got) != len(want):  # a complex tensor is recorded without its values
        return f"its values cannot be compared with the derivative's ({grad.dtype if isinstance(grad, Tensor) else 'not a tensor'})"
    largest = max(abs(a - b) for a, b in zip(got, want))
    return f"expected {format_values(want)}, got {format_values(got)} (largest difference {format_number(largest)})"


def _common_ratio(actual: list[float], expected: list[float]) -> float | None:
    ratios = [a / e for a, e in zip(actual, expected) if e != 0]
    if not ratios or not all(math.isfinite(r) for r in ratios) or any(e == 0 and a != 0 for a, e in zip(actual, expected)):
        return None
    first = ratios[0]
    return first if all(math.isclose(r, first, rel_tol=1e-6) for r in ratios) and not math.isclose(first, 1.0) else None


def _names(names: list[str]) -> str:
    return ", ".join(f"`{name}`" for name in names)


def _divergence(case: Case, quantity: str, parameter: str | None, expected: list[float] | None, actual: list[float] | None) -> dict[str, Any]:
    return {"case": case.name, "quantity": quantity, "step": None, "epoch": None, "sample": None, "parameter": parameter, "expected": expected, "actual": actual}


def _output_check(visible: list[Evaluation], points: int) -> CheckResult:
    passed = bool(visible) and all(e.output_ok for e in visible)
    message = "apply(...) returns the function's values." if passed else "apply(...) does not return the function's values in every case."
    return CheckResult("output", passed, points if passed else 0, points, False, message)


def _gradients_check(visible: list[Evaluation], points: int) -> CheckResult:
    passed = bool(visible) and all(e.grads_ok and all(e.grads_ok.values()) and e.record.error is None for e in visible)
    if passed:
        message = "backward returns the right gradient for every input."
    else:
        bad = sorted({name for e in visible for name, ok in e.grads_ok.items() if not ok})
        message = f"backward's gradients differ from the reference's: {', '.join(bad)}." if bad else "backward did not return gradients for every case."
    return CheckResult("gradients", passed, points if passed else 0, points, False, message)
