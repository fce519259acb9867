"""The interface every exercise kind implements, and what its judging hands back to the core.

A kind is a package under `grader/drivers/` (see docs/architecture.md): `loop.py` and `trace.py`
run in the sandbox, everything else on the trusted side, and `driver.py` exposes DRIVER, an
object with the members below. The core (spec, grading, reference, tracecheck) calls nothing
else of a kind. A driver module is imported by the web tier too (reading exercise folders), so
it imports its torch-bound parts (reference stepping, judging) only inside the methods that
need them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from grader.report import CheckResult, Diagnosis
from grader.trace import Error

if TYPE_CHECKING:
    from grader.spec import Exercise, Reader


@dataclass(frozen=True)
class Failure:
    """The exception that decides a graded run's outcome, and where it was raised."""

    case: str
    error: Error
    hidden: bool


@dataclass(frozen=True)
class Verdict:
    """A kind's judgement of one submission's traces. Hidden diagnoses are as found: the core
    passes them through `grader.disclosure` before a report shows them."""

    checks: tuple[CheckResult, ...]
    diagnoses: tuple[Diagnosis, ...]
    failure: Failure | None = None
    first_divergence: dict[str, Any] | None = None
    series: dict[str, Any] = field(default_factory=dict)


class Driver(Protocol):
    """One kind of exercise, from its exercise.toml section to its verdict."""

    name: str
    """The kind's name: exercise.toml's `driver`, and the folder under grader/drivers/."""

    case_type: type
    """The struct of one case as the loop takes it (in `<kind>/trace.py`)."""

    record_type: type
    """The struct the loop records for one case (in `<kind>/trace.py`)."""

    needs_parameters: bool
    """Whether `[contract] parameters` must name at least one tensor."""

    hidden_messages: Mapping[str, str]
    """Every diagnosis code the kind names, with the fixed text shown when it was found in a
    hidden case (no numbers, names or steps: see `grader.disclosure`)."""

    def checks(self, functions: Mapping[str, tuple[str, ...]]) -> tuple[str, ...]:
        """The checks an exercise of this kind scores, in report order: `points` names exactly these."""
        ...

    def read_cases(self, reader: Reader, data: Mapping[str, Any], exercise: Mapping[str, Any]) -> tuple[Any, ...]:
        """The `[[cases]]` of exercise.toml, checked against the contract already read
        (`exercise` holds `functions`, `parameters` and `classes`); errors through `reader.fail`."""
        ...

    def job_cases(self, exercise: Exercise) -> list[Any]:
        """Every case of the exercise as the loop takes it (`case_type`), hidden ones included."""
        ...

    def case_problem(self, record: Any, case: Any, exercise: Exercise) -> str | None:
        """What a decoded record cannot hold for this case (more steps than the case has, say),
        or None when the judges can read it without an exception."""
        ...

    def reference_failure(self, record: Any) -> str | None:
        """Why the reference's own record of a case is no reference (it raised, it stopped), or None."""
        ...

    def warm_up(self, exercise: Exercise, reference: Mapping[str, Any]) -> str | None:
        """Prepare a long-lived grader for this exercise; what could not be prepared, or None."""
        ...

    def analyse(self, exercise: Exercise, case: Any, record: Any, reference: Any) -> Any | None:
        """Judge one case as soon as its trace is in, while the others still run; None when the
        kind judges everything in `verdict`. Passed back to `verdict` by case name."""
        ...

    def verdict(self, exercise: Exercise, cases: Sequence[Any], records: Sequence[Any], reference: Mapping[str, Any], analyses: Mapping[str, Any]) -> Verdict:
        """The checks, diagnoses, deciding exception, first divergence and plot series of a run
        whose every case record passed `case_problem` (visible cases first, then hidden)."""
        ...


class Defaults:
    """What a kind that prepares nothing and judges everything in `verdict` need not write."""

    def warm_up(self, exercise: Exercise, reference: Mapping[str, Any]) -> str | None:
        return None

    def analyse(self, exercise: Exercise, case: Any, record: Any, reference: Any) -> Any | None:
        return None

