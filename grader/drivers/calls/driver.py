"""The `calls` kind's driver: what the core calls to read, run and judge a `calls` exercise."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from grader.drivers.base import Defaults, Verdict
from grader.drivers.calls import spec, tracecheck
from grader.drivers.calls.trace import Case, CaseRecord
from grader.exceptions import HIDDEN_EXCEPTION_MESSAGES

if TYPE_CHECKING:
    from grader.spec import Exercise, Reader

HIDDEN_MESSAGES = MappingProxyType(
    {
        "wrong_value": "In a hidden case, a function returns something else than the reference.",
        "wrong_dtype": "In a hidden case, a function returns a tensor of another dtype than the reference's.",
        "wrong_requires_grad": "In a hidden case, a function returns a tensor whose requires_grad differs from the reference's.",
        "wrong_leaf": "In a hidden case, a function returns a tensor that is a leaf where the reference's is not, or the reverse.",
        "wrong_grad_fn": "In a hidden case, a function returns a tensor made by another operation than the reference's.",
        **HIDDEN_EXCEPTION_MESSAGES,
    }
)


class CallsDriver(Defaults):
    """One check per function of the contract, then one per hidden case."""

    name = "calls"
    case_type = Case
    record_type = CaseRecord
    needs_parameters = False
    hidden_messages = HIDDEN_MESSAGES

    def checks(self, functions: Mapping[str, tuple[str, ...]]) -> tuple[str, ...]:
        return (*functions, "hidden")

    def read_cases(self, reader: Reader, data: Mapping[str, Any], exercise: Mapping[str, Any]) -> tuple[Any, ...]:
        return spec.read_cases(reader, data, exercise)

    def job_cases(self, exercise: Exercise) -> list[Any]:
        return [Case(name=c.name, hidden=c.hidden, args={f: list(a) for f, a in c.args.items()}) for c in exercise.cases]

    def case_problem(self, record: Any, case: Any, exercise: Exercise) -> str | None:
        return tracecheck.case_problem(record, case)

    def reference_failure(self, record: Any) -> str | None:
        return next((f"{name}: {call.error.type}: {call.error.message}" for name, call in record.calls.items() if call.error), None)

    def verdict(self, exercise: Exercise, cases: Sequence[Any], records: Sequence[Any], reference: Mapping[str, Any], analyses: Mapping[str, Any]) -> Verdict:
        from grader.drivers.calls.judge import judge_calls

        return judge_calls(exercise, list(cases), list(records), dict(reference))


DRIVER = CallsDriver()
