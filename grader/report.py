"""The result of grading one submission: the same JSON for the CLI, the database and the API."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from typing import Any

OUTCOMES = (
    "ok",
    "syntax_error",
    "contract_error",
    "crashed",
    "timeout",
    "memory_limit",
    "output_limit",
    "forbidden",
    "internal_error",
)


@dataclass(frozen=True)
class CheckResult:
    id: str
    passed: bool
    points: int
    max_points: int
    hidden: bool
    message: str


@dataclass(frozen=True)
class Diagnosis:
    """A named mistake: a stable code for statistics, a message for the student."""

    code: str
    message: str
    step: int | None = None
    parameter: str | None = None
    hidden: bool = False


@dataclass(frozen=True)
class GradeReport:
    exercise: str
    exercise_version: str
    outcome: str
    checks: tuple[CheckResult, ...]
    diagnoses: tuple[Diagnosis, ...]
    stdout: str = ""
    stdout_truncated: bool = False
    duration_ms: float = 0.0
    message: str = ""
    error: dict[str, Any] | None = None
    first_divergence: dict[str, Any] | None = None
    series: dict[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()  # what the grader did to the submission to run it (a notebook's skipped magics)

    def __post_init__(self) -> None:
        if self.outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {self.outcome!r}; known: {', '.join(OUTCOMES)}")

    @property
    def score(self) -> int:
        return sum(check.points for check in self.checks)

    @property
    def max_score(self) -> int:
        return sum(check.max_points for check in self.checks)

    @property
    def is_full_score(self) -> bool:
        return self.outcome == "ok" and self.max_score > 0 and self.score == self.max_score

    @property
    def codes(self) -> list[str]:
        return [d.code for d in self.diagnoses]

    def with_timing(self, duration_ms: float) -> GradeReport:
        return replace(self, duration_ms=round(duration_ms, 1))

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> GradeReport:
        """The report back from `to_json`, as the API serves it to `gradelab submit`."""
        return cls(
            exercise=data["exercise"],
            exercise_version=data["exercise_version"],
            outcome=data["outcome"],
            checks=tuple(CheckResult(**check) for check in data["checks"]),
            diagnoses=tuple(Diagnosis(**diagnosis) for diagnosis in data["diagnoses"]),
            stdout=data.get("stdout", ""),
            stdout_truncated=data.get("stdout_truncated", False),
            duration_ms=data.get("duration_ms", 0.0),
            message=data.get("message", ""),
            error=data.get("error"),
            notes=tuple(data.get("notes", ())),
            first_divergence=data.get("first_divergence"),
            series=data.get("series", {}),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "exercise": self.exercise,
            "exercise_version": self.exercise_version,
            "score": self.score,
            "max_score": self.max_score,
            "outcome": self.outcome,
            "message": self.message,
            "checks": [asdict(check) for check in self.checks],
            "diagnoses": [asdict(d) for d in self.diagnoses],
            "error": self.error,
            "first_divergence": self.first_divergence,
            "series": self.series,
            "stdout": self.stdout,
            "stdout_truncated": self.stdout_truncated,
            "duration_ms": self.duration_ms,
        } | ({"notes": list(self.notes)} if self.notes else {})  # only where there is one: stored reports keep their form


def json_safe(value: Any) -> Any:
    """Strict JSON: NaN and infinities become the strings "NaN", "Infinity", "-Infinity"."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(item) for item in value]
    return value
