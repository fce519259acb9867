"""The `function` kind's driver: what the core calls to read, run and judge a custom autograd Function."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from grader.drivers.base import Defaults, Verdict
from grader.drivers.function import spec, tracecheck
from grader.drivers.function.trace import Case, CaseRecord
from grader.exceptions import HIDDEN_EXCEPTION_MESSAGES

if TYPE_CHECKING:
    from grader.spec import Exercise, Reader

HIDDEN_MESSAGES = MappingProxyType(
    {
        "wrong_output": "In a hidden case, forward does not compute the function.",
        "wrong_backward": "In a hidden case, a gradient that backward returns is not the right one.",
        "saved_tensor_misuse": "In a hidden case, backward reads a saved tensor that is missing, misread or was changed in place.",
        "backward_arity": "In a hidden case, backward returns another number of gradients than forward has inputs.",
        **HIDDEN_EXCEPTION_MESSAGES,
    }
)


class FunctionDriver(Defaults):
    """Two checks (the output, the gradients), then one per hidden case."""

    name = "function"
    case_type = Case
    record_type = CaseRecord
    needs_parameters = False
    hidden_messages = HIDDEN_MESSAGES

    def checks(self, functions: Mapping[str, tuple[str, ...]]) -> tuple[str, ...]:
        return ("output", "gradients", "hidden")

    def read_cases(self, reader: Reader, data: Mapping[str, Any], exercise: Mapping[str, Any]) -> tuple[Any, ...]:
        return spec.read_cases(reader, data, exercise)

    def job_cases(self, exercise: Exercise) -> list[Any]:
        from grader.drivers.function.cases import (
            job_cases,  # torch draws the random inputs
        )

        return list(job_cases(exercise))

    def case_problem(self, record: Any, case: Any, exercise: Exercise) -> str | None:
        return tracecheck.case_problem(record, case)

    def reference_failure(self, record: Any) -> str | None:
        failure = record.error or record.stopped
        return str(failure) if failure else None

    def verdict(self, exercise: Exercise, cases: Sequence[Any], records: Sequence[Any], reference: Mapping[str, Any], analyses: Mapping[str, Any]) -> Verdict:
        from grader.drivers.function.judge import verdict

        return verdict(exercise, cases, records, reference)


DRIVER = FunctionDriver()
