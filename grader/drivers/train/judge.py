"""The `train` kind's verdict: each case analysed step by step, then checks, diagnoses and plots."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from grader.drivers.base import Failure, Verdict
from grader.drivers.train.checks import Evidence, run_checks
from grader.drivers.train.compare import CaseAnalysis, CaseJudge
from grader.drivers.train.diagnose import diagnose
from grader.drivers.train.reference import stepper_for
from grader.drivers.train.trace import Case, CaseRecord, Step
from grader.spec import Exercise
from grader.trace import numbers_of

SERIES_VALUES_PER_PARAMETER = 3


def analyse(exercise: Exercise, case: Case, record: CaseRecord, reference: CaseRecord) -> CaseAnalysis:
    """One case judged step by step; a hidden case stops at its first mismatch (all it scores)."""
    judge = CaseJudge(stepper_for(exercise), exercise.tolerances["step"], exercise.tolerances["prediction"])
    return judge.analyse(case, record, reference, stop_early=case.hidden)


def verdict(exercise: Exercise, cases: Sequence[Case], records: Sequence[CaseRecord], reference: Mapping[str, CaseRecord], analyses: Mapping[str, Any]) -> Verdict:
    by_name = {case.name: case for case in cases}
    done = [analyses.get(r.name) or analyse(exercise, by_name[r.name], r, reference[r.name]) for r in records]
    visible = [a for a in done if not a.hidden]
    checks = run_checks(exercise, Evidence(visible, [a for a in done if a.hidden]))
    diagnoses = diagnose(done, exercise.tolerances["step"], visible[0].case.lr if visible else None)
    failing = next((a for a in done if a.student.error), None)
    return Verdict(
        checks=checks,
        diagnoses=tuple(diagnoses),
        failure=Failure(failing.name, failing.student.error, failing.hidden) if failing and failing.student.error else None,
        first_divergence=_first_divergence(visible),
        series=_series(visible[0]) if visible else {},
    )


def _first_divergence(visible: list[CaseAnalysis]) -> dict[str, Any] | None:
    for analysis in visible:
        first = analysis.first
        if first is None:
            continue
        step = first.step
        return {
            "case": analysis.name,
            "quantity": first.quantity,
            "step": step.index if step else None,
            "epoch": step.epoch if step else None,
            "sample": step.sample if step else None,
            "parameter": first.parameter,
            "expected": first.expected,
            "actual": first.actual,
        }
    return None


def _series(analysis: CaseAnalysis) -> dict[str, Any]:
    """Per-step loss and parameters of the student against the reference, for plots."""

    def first_values(values: list[float] | None) -> list[float] | None:
        return values[:SERIES_VALUES_PER_PARAMETER] if values is not None else None

    def series_of(steps: list[Step]) -> dict[str, Any]:
        return {
            "loss": [(numbers_of(s.loss) or [None])[0] for s in steps],
            "params": {name: [first_values(numbers_of((s.params or {}).get(name))) for s in steps] for name in analysis.case.init},
        }

    return {"case": analysis.name, "student": series_of(analysis.student.steps), "reference": series_of(analysis.reference.steps)}
