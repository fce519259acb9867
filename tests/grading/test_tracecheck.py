"""A trace is checked before it is judged: anything malformed is refused, nothing crashes."""

from __future__ import annotations

import copy
import json
import math
import os

import pytest

from grader.grading import build_jobs
from grader.harness import run_job
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
