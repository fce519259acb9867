"""The pool: one child per submission when busy, two at once when a sandbox is spare."""

from __future__ import annotations

from dataclasses import replace

import msgspec
import pytest
from submissions import GOOD_LINEAR

from grader.grading import build_jobs, grade_submission
from grader.pool import SandboxPool
from grader.reference import reference_traces
from grader.sandbox import Sandbox


@pytest.fixture
def calls(monkeypatch):
    """How many jobs each child was given (a spy around the real Sandbox.run)."""
    seen: list[int] = []
    real_run = Sandbox.run

    def run(self, jobs, limits, on_trace=None):
        seen.append(len(jobs))
        return real_run(self, jobs, limits, on_trace)

    monkeypatch.setattr(Sandbox, "run", run)
    return seen


@pytest.mark.parametrize(("size", "children"), [(1, [2]), (2, [1, 1])], ids=["busy: one child", "idle: split"])
def test_a_submission_runs_in_one_child_or_two(catalog, calls, size, children):
    with SandboxPool(size) as pool:
        pool.wait_ready()
        reference_traces(catalog["linear"], pool)  # the reference's own run, if this process has not cached it
        calls.clear()
        report = grade_submission(catalog["linear"], GOOD_LINEAR, pool)
    assert report.is_full_score
    assert sorted(calls) == sorted(children)


@pytest.mark.parametrize("size", [1, 2], ids=["one child", "split"])
def test_a_failure_in_the_hidden_cases_alone_decides_the_outcome(catalog, size):
    exercise = replace(catalog["linear"], limits=replace(catalog["linear"].limits, timeout_s=3.0))
    hang_on_hidden = GOOD_LINEAR.replace("def update(lr):\n", "def update(lr):\n    while lr == 0.02:\n        pass\n")
    with SandboxPool(size) as pool:
        report = grade_submission(exercise, hang_on_hidden, pool)
    assert report.outcome == "timeout"
    assert report.score == 0


def test_split_runs_report_both_traces_and_the_first_output(catalog, pool):
    visible, hidden = build_jobs(catalog["linear"], "print('shown')\n" + GOOD_LINEAR)
    pool.wait_ready()
    run = pool.run([visible, hidden], catalog["linear"].limits)
    assert run.status == "finished"
    assert [case["name"] for body in run.traces for case in msgspec.msgpack.decode(body)["cases"]] == [c.name for c in visible.cases + hidden.cases]
    assert run.stdout == "shown\n"
