"""A trace is checked before it is judged: anything malformed is refused, nothing crashes."""

from __future__ import annotations

import copy
import json
import math
import os
import random

import pytest

from grader.grading import build_jobs, grade_submission
from grader.harness import run_job
from grader.sandbox import RawRun
from grader.tracecheck import CheckedTrace, decode_trace, trace_problem


@pytest.fixture(scope="module")
def job_and_trace(catalog):
    exercise = catalog["linear"]
    job = build_jobs(exercise, exercise.reference_path.read_text(encoding="utf-8"))[0]
    saved = os.dup(1), os.dup(2)
    try:
        trace = run_job(job)  # the trusted reference, in this process
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        os.close(saved[0])
        os.close(saved[1])
    return job, trace


def test_a_real_trace_passes(job_and_trace):
    job, trace = job_and_trace
    assert trace_problem(trace, job) is None


def first_step(trace):
    return trace["cases"][0]["steps"][0]


BREAKAGES = {
    "not-an-object": lambda t: [],
    "missing-load": lambda t: t.pop("load"),
    "other-format": lambda t: t.update(format=99),
    "extra-key-in-a-value": lambda t: t["cases"][0]["steps"][0]["loss"].update(score=100),
    "case-renamed": lambda t: t["cases"][0].update(name="hidden-one"),
    "case-added": lambda t: t["cases"].append(copy.deepcopy(t["cases"][0])),
    "step-beyond-epochs": lambda t: first_step(t).update(epoch=10_000),
    "unknown-parameter": lambda t: first_step(t)["grads"].update(b=first_step(t)["grads"]["w"]),
    "values-shorter-than-shape": lambda t: first_step(t)["loss"].update(values=[]),
    "value-is-a-string": lambda t: first_step(t)["loss"].update(values=["1.0"]),
    "value-is-a-boolean": lambda t: first_step(t)["loss"].update(values=[True]),
    "tensor-without-dtype": lambda t: first_step(t)["loss"].pop("dtype"),
    "unknown-kind": lambda t: first_step(t).update(loss={"kind": "verdict", "passed": True}),
    "huge-type-name": lambda t: first_step(t).update(loss={"kind": "other", "type": "x" * 10_000}),
    "failed-load-without-error": lambda t: t.update(load={"ok": False}),
    "negative-shape": lambda t: first_step(t)["loss"].update(shape=[-1]),
    "400-digit-integer": lambda t: first_step(t)["params"]["w"].update(values=[10**400]),
    "huge-dimension": lambda t: first_step(t)["loss"].update(shape=[2**70]),
    "boolean-step": lambda t: first_step(t).update(epoch=True),
    "parameter-missing-from-grads": lambda t: first_step(t)["grads"].pop("w"),
    "parameter-missing-from-params": lambda t: first_step(t)["params"].pop("w"),
    "step-without-grads-after": lambda t: first_step(t).pop("grads_after"),
    "step-without-loss": lambda t: first_step(t).pop("loss"),
    "unfinished-step-mid-case": lambda t: first_step(t).pop("params"),
    "fault-mid-case": lambda t: first_step(t).update(faults={"w": "non_leaf"}),
    "fault-without-stop": lambda t: t["cases"][0]["steps"][-1].update(faults={"w": "non_leaf"}),
    "stop-without-fault": lambda t: t["cases"][0].update(stopped="parameter_fault"),
    "parameter-not-a-tensor-without-fault": lambda t: first_step(t)["params"].update(w={"kind": "other", "type": "float"}),
    "values-longer-than-shape": lambda t: first_step(t)["params"]["w"]["values"].append(1.0),
    "grads-nested-one-deeper": lambda t: first_step(t).update(grads={"w": first_step(t)["grads"]}),
    "error-without-message": lambda t: t["cases"][0].update(error={"phase": "loss", "step": 1, "type": "ValueError", "message": None,
                                                                   "line": 3, "function": "loss", "text": None}),
    "contract-problem-without-its-fields": lambda t: t.update(contract=[{"kind": "signature", "name": "update"}], cases=[]),
}


@pytest.mark.parametrize("breakage", list(BREAKAGES), ids=list(BREAKAGES))
def test_malformed_traces_are_refused(job_and_trace, breakage):
    job, trace = job_and_trace
    broken = copy.deepcopy(trace)
    result = BREAKAGES[breakage](broken)
    if isinstance(result, list):
        broken = result
    assert trace_problem(broken, job) is not None


def encoded(trace) -> bytes:
    return json.dumps(trace, allow_nan=True).encode()


def test_a_decoded_frame_is_checked_once_and_drops_unknown_keys(job_and_trace):
    job, trace = job_and_trace
    forged = copy.deepcopy(trace)
    forged["score"] = 100
    forged["cases"][0]["steps"][0]["verdict"] = "pass"
    decoded = decode_trace(encoded(forged))
    assert isinstance(decoded, CheckedTrace)
    assert "score" not in decoded and "verdict" not in decoded["cases"][0]["steps"][0]
    assert decoded == trace
    assert trace_problem(decoded, job) is None


def test_a_frame_with_nan_takes_the_slow_path_and_is_still_checked(job_and_trace):
    job, trace = job_and_trace
    diverged = copy.deepcopy(trace)
    diverged["cases"][0]["steps"][5]["loss"]["values"] = [math.nan]
    diverged["cases"][0]["steps"][6]["loss"]["values"] = [math.inf]
    decoded = decode_trace(encoded(diverged))
    assert isinstance(decoded, CheckedTrace) and math.isnan(decoded["cases"][0]["steps"][5]["loss"]["values"][0])
    assert trace_problem(decoded, job) is None
    diverged["cases"][0]["steps"][7]["loss"]["values"] = ["7"]
    refused = decode_trace(encoded(diverged))
    assert not isinstance(refused, CheckedTrace) and trace_problem(refused, job) is not None


# An unknown key in a frame is not refused but dropped by the decoder (tested above).
FRAME_BREAKAGES = [name for name in BREAKAGES if not name.startswith("extra-key")]


@pytest.mark.parametrize("breakage", FRAME_BREAKAGES, ids=FRAME_BREAKAGES)
def test_malformed_frames_are_refused_after_decoding(job_and_trace, breakage):
    job, trace = job_and_trace
    broken = copy.deepcopy(trace)
    result = BREAKAGES[breakage](broken)
    decoded = decode_trace(encoded(result if isinstance(result, list) else broken))
    assert not isinstance(decoded, dict) or trace_problem(decoded, job) is not None


def test_a_frame_that_is_not_json_is_not_a_trace():
    with pytest.raises(ValueError):
        decode_trace(b"{not json")


@pytest.mark.parametrize("body", [b"[" * 100_000 + b"]" * 100_000, b'{"format": 1, "cases": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"])
def test_a_frame_nested_too_deep_is_unreadable_or_refused(job_and_trace, body):
    """Never a RecursionError: a ValueError (no trace), or a trace that is refused."""
    job, _ = job_and_trace
    for frame in (body, body.replace(b"[]", b"[NaN]")):  # the second takes the stdlib's path
        try:
            decoded = decode_trace(frame)
        except ValueError:
            continue
        assert trace_problem(decoded, job) is not None


class Replay:
    """A runner that hands back the given traces, as the sandbox's frame reader would have decoded them."""

    def __init__(self, traces: tuple) -> None:
        self.traces = traces

    def run(self, jobs, limits, on_trace=None) -> RawRun:
        return RawRun(status="finished", traces=self.traces, stdout="", stdout_truncated=False, exit_code=0, duration_ms=1.0)


@pytest.fixture(scope="module")
def recorded(catalog, pool) -> dict:
    """Real runs in the sandbox: a right and a wrong file per exercise, whose traces are forged below."""
    runs = {}
    for slug, mistake in (("linear", "no_zero_grad.py"), ("matrix_mse", "no_zero.py"), ("vector_backward", None)):
        exercise = catalog[slug]
        for label, path in (("right", exercise.reference_path), ("wrong", exercise.path / "mistakes" / mistake if mistake else None)):
            if path is not None:
                source = path.read_text(encoding="utf-8")
                runs[slug, label] = (source, pool.run(list(build_jobs(exercise, source)), exercise.limits).traces)
    return runs


@pytest.mark.parametrize("breakage", FRAME_BREAKAGES, ids=FRAME_BREAKAGES)
def test_a_forged_frame_is_the_students_outcome_never_the_graders(catalog, recorded, breakage):
    source, traces = recorded["linear", "right"]
    broken = copy.deepcopy(traces[0])
    result = BREAKAGES[breakage](broken)
    frame = decode_trace(encoded(result if isinstance(result, list) else broken))
    report = grade_submission(catalog["linear"], source, Replay((frame, traces[1])))
    assert report.outcome == "forbidden", report.message
    assert "malformed result" in report.message


FORGED_VALUES = [10**400, -(10**400), 2**64, True, False, None, "1.0", [], {}, -1, 0, 2**31 + 1, 1.5, math.nan, math.inf, [1.0, 2.0], {"kind": "tensor"}]


def forged(trace, rng: random.Random, count: int):
    """The trace with `count` random edits: a key or item dropped, a value replaced, an item repeated."""
    trace = copy.deepcopy(trace)
    for _ in range(count):
        paths = list(_paths(trace, ()))
        path = rng.choice(paths)
        parent = trace
        for key in path[:-1]:
            parent = parent[key]
        key, action = path[-1], rng.random()
        if action < 0.25:
            del parent[key]
        elif action < 0.35 and isinstance(parent, list):
            parent.insert(key, copy.deepcopy(parent[key]))
        else:
            parent[key] = copy.deepcopy(rng.choice(FORGED_VALUES))
    return trace


def _paths(value, prefix):
    children = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in children:
        yield (*prefix, key)
        yield from _paths(child, (*prefix, key))


@pytest.mark.parametrize(("slug", "label"), [("linear", "right"), ("linear", "wrong"), ("matrix_mse", "wrong"), ("vector_backward", "right")])
def test_no_forged_frame_makes_the_grader_fail(catalog, recorded, slug, label, caplog):
    """A seeded fuzz: a few hundred traces with random edits to any part, visible or hidden; each
    is refused as malformed or judged, and none ends as `internal_error`."""
    exercise = catalog[slug]
    source, traces = recorded[slug, label]
    rng = random.Random(f"{slug}-{label}")
    outcomes = set()
    for _ in range(150):
        which = rng.randrange(len(traces))
        edited = list(traces)
        try:
            edited[which] = decode_trace(encoded(forged(traces[which], rng, rng.randint(1, 3))))
        except ValueError:
            continue  # unreadable: the frame reader treats it as no trace
        report = grade_submission(exercise, source, Replay(tuple(edited)))
        assert report.outcome != "internal_error", caplog.text[-3000:]
        outcomes.add(report.outcome)
    assert "forbidden" in outcomes and len(outcomes) > 1
