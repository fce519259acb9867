"""The `train` kind's driver: what the core calls to read, run and judge a training exercise."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from grader.drivers.base import Verdict
from grader.drivers.train import spec, tracecheck
from grader.drivers.train.checks import CHECKS
from grader.drivers.train.trace import Case, CaseRecord
from grader.exceptions import HIDDEN_EXCEPTION_MESSAGES

if TYPE_CHECKING:
    from grader.spec import Exercise, Reader

# What each diagnosis says when a hidden case is where it was found: no numbers, names or steps.
HIDDEN_MESSAGES = MappingProxyType(
    {
        "missing_zero_grad": "In a hidden case, a gradient keeps growing: .grad still holds earlier gradients. Clear it after each update.",
        "no_update": "In a hidden case, a parameter does not move after update(lr).",
        "wrong_sign": "In a hidden case, update(lr) moves a parameter the wrong way: step against the gradient.",
        "wrong_learning_rate": "In a hidden case, a step is not lr * gradient: use the lr that update(lr) receives, without extra factors.",
        "fixed_learning_rate": "update(lr) ignores its lr argument: with another learning rate, the step still uses the example's value.",
        "non_leaf_parameter": "In a hidden case, a parameter is no longer a leaf tensor after update(lr).",
        "lost_requires_grad": "In a hidden case, a parameter no longer requires grad (or is no tensor) after update(lr).",
        "wrong_forward": "In a hidden case, forward(x) does not compute the model's formula.",
        "wrong_loss": "In a hidden case, loss(x, y) is not the squared error of your own prediction.",
        "wrong_gradient": "In a hidden case, .grad after backward() is not the gradient of your loss.",
        "wrong_update": "In a hidden case, update(lr) does not compute parameter - lr * gradient.",
        "hardcoded_output": (
            "Your code is right on the visible example but not on hidden cases with other data, initial values or learning rate. "
            "It seems to rely on the example's own numbers instead of the arguments it receives."
        ),
        "diverged": "In a hidden case, the training blew up (NaN or infinity).",
        "no_autograd": "In a hidden case, the gradients did not come from autograd's backward().",
        **HIDDEN_EXCEPTION_MESSAGES,
    }
)


class TrainDriver:
    """Reference stepping and judging import torch: they are imported when first used."""

    name = "train"
    case_type = Case
    record_type = CaseRecord
    needs_parameters = True
    hidden_messages = HIDDEN_MESSAGES

    def checks(self, functions: Mapping[str, tuple[str, ...]]) -> tuple[str, ...]:
        return tuple(CHECKS)

    def read_cases(self, reader: Reader, data: Mapping[str, Any], exercise: Mapping[str, Any]) -> tuple[Any, ...]:
        return spec.read_cases(reader, data, exercise)

    def job_cases(self, exercise: Exercise) -> list[Any]:
        from grader.drivers.train.reference import job_cases

        return list(job_cases(exercise))

    def case_problem(self, record: Any, case: Any, exercise: Exercise) -> str | None:
        return tracecheck.case_problem(record, case, set(exercise.parameters))

    def reference_failure(self, record: Any) -> str | None:
        failure = record.error or record.stopped
        return str(failure) if failure else None

    def warm_up(self, exercise: Exercise, reference: Mapping[str, Any]) -> str | None:
        from grader.drivers.train.reference import job_cases, stepper_for

        return stepper_for(exercise).enable_batching(job_cases(exercise), dict(reference))

    def analyse(self, exercise: Exercise, case: Any, record: Any, reference: Any) -> Any | None:
        from grader.drivers.train import judge

        return judge.analyse(exercise, case, record, reference)

    def verdict(self, exercise: Exercise, cases: Sequence[Any], records: Sequence[Any], reference: Mapping[str, Any], analyses: Mapping[str, Any]) -> Verdict:
        from grader.drivers.train import judge

        return judge.verdict(exercise, cases, records, reference, analyses)


DRIVER = TrainDriver()
