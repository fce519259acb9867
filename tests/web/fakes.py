"""Unit fakes for the site's route tests (the integration tests keep the real database, queue and pool)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from grader.sandbox import RawRun, TraceReady
from grader.spec import Limits
from grader.trace import Job


class FakeRunner:
    """A Runner for route tests that grade nothing: it notes every run it is asked for and does none."""

    def __init__(self) -> None:
        self.asked: list[Sequence[Job[Any]]] = []

    def run(self, jobs: Sequence[Job[Any]], limits: Limits, on_trace: TraceReady | None = None) -> RawRun:
        self.asked.append(jobs)
        raise AssertionError("a test marked grades_nothing sent a submission to grading")
