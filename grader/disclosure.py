"""What a student may see of the hidden cases: one rule for everything a hidden run produced.

Student code can read a hidden case where the harness holds it (its frames, its arguments) and
try to carry it out through anything the report shows. So every fact that comes from a hidden
case goes through `disclosed` before it is shown, and what it lets through is a fixed
vocabulary that no submission can choose the text of: each kind's fixed `hidden_messages`.
`grading` calls it for every kind.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from grader.exceptions import HIDDEN_EXCEPTION_MESSAGES, WITHHELD
from grader.report import Diagnosis
from grader.trace import Error

USER_DEFINED_EXCEPTION = "user-defined exception"
BUILTIN_EXCEPTIONS = frozenset(
    name for name, value in vars(builtins).items() if isinstance(value, type) and issubclass(value, BaseException)
)

@dataclass(frozen=True)
class Hidden:
    """What the hidden cases produced that a report could carry to the student."""

    error: Error | None = None  # the exception a hidden case raised, as the harness recorded it
    diagnoses: tuple[Diagnosis, ...] = ()  # the mistakes named from hidden cases
    exit_code: int | None = None  # how the child ended when it died in the hidden job


@dataclass(frozen=True)
class Disclosed:
    """What a report may show of the hidden cases: the exception as a report's error, fixed diagnoses."""

    error: dict[str, Any] | None = None
    diagnoses: tuple[Diagnosis, ...] = ()
    exit_code: int | None = None  # always None: how a hidden child died is not shown


def disclosed(hidden: Hidden, names: frozenset[str], messages: Mapping[str, str] = HIDDEN_EXCEPTION_MESSAGES) -> Disclosed:
    """The rule: of a hidden case, a student sees only words no submission chooses.

    - an exception: its class name if Python builds it in, else the word USER_DEFINED_EXCEPTION;
      never its message, line, source text, function, errno, phase or step;
    - a diagnosis: its code (one of `messages`, the exercise's kind's `hidden_messages`, else
      `runtime_error`) with that code's fixed message; its parameter only when it is one of `names` (the exercise's own parameters and
      functions); never a step, a number, a shape or a type name;
    - how the child died (exit code, signal): nothing;
    - the time the hidden job took: nothing (`duration_ms` covers the visible part only: the
      time until the visible trace was in, plus judging it; see `grading._Clock`).
    Which hidden checks pass, and the outcome, are shown: they are the grade.
    """
    return Disclosed(
        error=_disclosed_error(hidden.error) if hidden.error is not None else None,
        diagnoses=tuple(_disclosed_diagnosis(d, names, messages) for d in hidden.diagnoses),
    )


def _disclosed_error(error: Error) -> dict[str, Any]:
    name = error.type
    return {
        "case": "hidden",
        "phase": None,
        "step": None,
        "type": name if isinstance(name, str) and name in BUILTIN_EXCEPTIONS else USER_DEFINED_EXCEPTION,
        "message": WITHHELD,
        "line": None,
        "function": None,
        "text": None,
        "errno": None,
    }


def _disclosed_diagnosis(diagnosis: Diagnosis, names: frozenset[str], messages: Mapping[str, str]) -> Diagnosis:
    code = diagnosis.code if diagnosis.code in messages else "runtime_error"
    parameter = diagnosis.parameter if diagnosis.parameter in names else None
    message = messages[code] + (f" ({parameter})" if parameter else "")
    return replace(diagnosis, code=code, message=message, step=None, parameter=parameter, hidden=True)
