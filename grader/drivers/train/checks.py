"""The named checks an exercise scores: each turns case analyses into points and one message.

Exercise files give points by check name; the registry below is the vocabulary, read-only,
and the kind's driver reads its names from it. Torch-free: the web tier reads exercise folders
through the driver.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING

from grader.formatting import format_values
from grader.report import CheckResult
from grader.spec import Exercise

if TYPE_CHECKING:
    from grader.drivers.train.compare import CaseAnalysis, StepCheck


@dataclass(frozen=True)
class Evidence:
    visible: list[CaseAnalysis]
    hidden: list[CaseAnalysis]


CheckFunction = Callable[[Evidence, int], list[CheckResult]]


def _result(check_id: str, passed: bool, points: int, message: str, hidden: bool = False) -> CheckResult:
    return CheckResult(check_id, passed, points if passed else 0, points, hidden, message)


def _steps(evidence: Evidence) -> Iterator[StepCheck]:
    for analysis in evidence.visible:
        yield from analysis.steps


def _at(check: StepCheck) -> str:
    return f"step {check.index} (epoch {check.epoch}, sample {check.sample})"


def check_forward(evidence: Evidence, points: int) -> list[CheckResult]:
    failing = next((a for a in evidence.visible if not a.forward_ok), None)
    if failing is None and evidence.visible:
        return [_result("forward", True, points, "forward(x) matches the model at the initial parameters for every training input.")]
    first = failing.first if failing else None
    if first is not None and first.quantity == "forward":
        message = f"forward(x) at the initial parameters: expected {format_values(first.expected)}, got {format_values(first.actual)}."
    else:
        message = "forward(x) did not run on every training input."
    return [_result("forward", False, points, message)]


def check_loss_graph(evidence: Evidence, points: int) -> list[CheckResult]:
    steps = list(_steps(evidence))
    bad = next((s for s in steps if s.raw.loss is not None and not s.in_graph), None)
    if steps and bad is None and any(s.in_graph for s in steps):
        return [_result("loss_graph", True, points, "loss(x, y) returns a tensor in the autograd graph at every step.")]
    message = f"loss(x, y) is not a tensor in the autograd graph at {_at(bad)}." if bad else "loss(x, y) never returned a value."
    return [_result("loss_graph", False, points, message)]


def _per_step_check(check_id: str, evidence: Evidence, points: int, verdicts: Callable[[StepCheck], dict[str, bool | None]], what: str) -> list[CheckResult]:
    judged = [(s, v) for s in _steps(evidence) for v in [verdicts(s)] if v and all(x is not None for x in v.values())]
    bad = next(((s, v) for s, v in judged if not all(v.values())), None)
    if judged and bad is None:
        return [_result(check_id, True, points, f"{what} match the reference at every step.")]
    if bad is None:
        return [_result(check_id, False, points, f"{what} could not be checked: the run stopped before them.")]
    step, verdict = bad
    names = ", ".join(name for name, ok in verdict.items() if not ok)
    return [_result(check_id, False, points, f"{what} differ from the reference at {_at(step)}: {names}.")]


def check_loss_value(evidence: Evidence, points: int) -> list[CheckResult]:
    return _per_step_check("loss_value", evidence, points, lambda s: {"loss": s.loss_ok}, "Loss values")


def check_gradients(evidence: Evidence, points: int) -> list[CheckResult]:
    handed_in = next((s for s in _steps(evidence) if s.raw.not_autograd), None)
    if handed_in is not None and handed_in.raw.not_autograd:
        names = ", ".join(f"{n}.grad" for n in handed_in.raw.not_autograd)
        return [_result("gradients", False, points, f"Gradients after backward() did not come from autograd at {_at(handed_in)}: {names}.")]
    return _per_step_check("gradients", evidence, points, lambda s: {f"{n}.grad": ok for n, ok in s.grads_ok.items()}, "Gradients after backward()")


def check_update(evidence: Evidence, points: int) -> list[CheckResult]:
    return _per_step_check("update", evidence, points, lambda s: dict(s.update_ok), "Parameters after update(lr)")


def check_trace(evidence: Evidence, points: int) -> list[CheckResult]:
    failing = next((a for a in evidence.visible if not (a.completed and all(s.passed for s in a.steps))), None)
    if failing is None and evidence.visible:
        total = sum(len(a.steps) for a in evidence.visible)
        return [_result("trace", True, points, f"All {total} training steps match the reference.")]
    bad = next((s for s in failing.steps if not s.passed), None) if failing else None
    if bad is not None:
        message = f"The training run departs from the reference at {_at(bad)}."
    elif failing is not None:
        message = f"The training run stopped after {len(failing.steps)} of {failing.expected_steps} steps."
    else:
        message = "The training run did not start."
    return [_result("trace", False, points, message)]


def check_prediction(evidence: Evidence, points: int) -> list[CheckResult]:
    passed = bool(evidence.visible) and all(a.prediction_ok for a in evidence.visible)
    message = "The prediction after training matches the reference." if passed else "The prediction after training differs from the reference."
    return [_result("prediction", passed, points, message)]


def check_hidden(evidence: Evidence, points: int) -> list[CheckResult]:
    """One check per hidden case; the message never shows its inputs or expected values."""
    return [
        _result(f"hidden_{number}", a.passed, points, f"Hidden case {number} {'passes' if a.passed else 'fails'}.", hidden=True)
        for number, a in enumerate(evidence.hidden, start=1)
    ]


CHECKS: MappingProxyType[str, CheckFunction] = MappingProxyType(
    {
        "forward": check_forward,
        "loss_graph": check_loss_graph,
        "loss_value": check_loss_value,
        "gradients": check_gradients,
        "update": check_update,
        "trace": check_trace,
        "prediction": check_prediction,
        "hidden": check_hidden,
    }
)


def run_checks(exercise: Exercise, evidence: Evidence) -> tuple[CheckResult, ...]:
    results: list[CheckResult] = []
    for name, points in exercise.points.items():
        if name not in CHECKS:
            raise KeyError(f"unknown check {name!r}; known checks: {', '.join(CHECKS)}")
        results.extend(CHECKS[name](evidence, points))
    return tuple(results)
