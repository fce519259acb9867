"""A trace is checked before it is judged: anything malformed is refused, nothing crashes.

Frames are MessagePack: a forger edits the plain tree a frame decodes to (dicts, lists, numbers),
encodes it again, and hands it over as a frame body.
"""

from __future__ import annotations

import copy
import io
import math
import os
import random

import msgspec
import pytest

from grader.grading import build_jobs, grade_submission
from grader.harness import read_jobs, run_job
from grader.reference import reference_traces
from grader.sandbox import RawRun
from grader.trace import Job, Trace, encode
from grader.tracecheck import decoded_trace


def harness_job(job: Job) -> Job:
    """The job as the harness receives it over its pipe."""
    return next(read_jobs(io.BytesIO(f"{len(body := msgspec.json.encode(job))}\n".encode() + body)))


@pytest.fixture(scope="module")
def job_and_trace(catalog):
    exercise = catalog["linear"]
    job = build_jobs(exercise, exercise.reference_path.read_text(encoding="utf-8"))[0]
    saved = os.dup(1), os.dup(2)
    try:
        trace = run_job(harness_job(job))  # the trusted reference, in this process
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        os.close(saved[0])
        os.close(saved[1])
    return job, msgspec.to_builtins(trace)


def check(body: bytes, job: dict, catalog) -> Trace | str:
    return decoded_trace(body, job, catalog["linear"])


def test_a_real_trace_passes(catalog, job_and_trace):
    job, trace = job_and_trace
    assert isinstance(check(encode(trace), job, catalog), Trace)


def first_step(trace):
    return trace["cases"][0]["steps"][0]


BREAKAGES = {
    "not-an-object": lambda t: [],
    "missing-format": lambda t: t.pop("format"),
    "other-format": lambda t: t.update(format=99),
    "extra-key-in-a-value": lambda t: t["cases"][0]["steps"][0]["loss"].update(score=100),
    "extra-key-in-the-trace": lambda t: t.update(score=100),
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
    "failed-load-without-error": lambda t: t.update(load={"phase": "import"}),
    "negative-shape": lambda t: first_step(t)["loss"].update(shape=[-1]),
    "count-beyond-any-real-one": lambda t: first_step(t).update(epoch=2**63 - 1),
    "huge-dimension": lambda t: first_step(t)["loss"].update(shape=[2**40]),
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
    "cases-beside-a-failed-load": lambda t: t.update(load={"phase": "import", "type": "ValueError", "message": "no"}),
}


def broken_frame(trace, breakage: str) -> bytes:
    broken = copy.deepcopy(trace)
    result = BREAKAGES[breakage](broken)
    return encode(result if isinstance(result, list) else broken)


@pytest.mark.parametrize("breakage", list(BREAKAGES), ids=list(BREAKAGES))
def test_malformed_frames_are_refused(catalog, job_and_trace, breakage):
    job, trace = job_and_trace
    assert isinstance(check(broken_frame(trace, breakage), job, catalog), str)


def test_a_frame_decodes_to_the_very_records_it_was_made_of(catalog, job_and_trace):
    job, trace = job_and_trace
    decoded = check(encode(trace), job, catalog)
    assert isinstance(decoded, Trace) and msgspec.to_builtins(decoded) == trace


def test_a_frame_with_nan_and_infinity_is_read_and_still_checked(catalog, job_and_trace):
    job, trace = job_and_trace
    diverged = copy.deepcopy(trace)
    diverged["cases"][0]["steps"][5]["loss"]["values"] = [math.nan]
    diverged["cases"][0]["steps"][6]["loss"]["values"] = [math.inf]
    decoded = check(encode(diverged), job, catalog)
    assert isinstance(decoded, Trace) and math.isnan(decoded.cases[0].steps[5].loss.values[0])
    diverged["cases"][0]["steps"][7]["loss"]["values"] = ["7"]
    assert isinstance(check(encode(diverged), job, catalog), str)


def test_a_frame_that_is_not_messagepack_is_not_a_trace(catalog, job_and_trace):
    job, _ = job_and_trace
    assert isinstance(check(b"\xc1{not a frame", job, catalog), str)


@pytest.mark.parametrize("body", [b"\x91" * 100_000 + b"\x90", b"\x81\xa5cases" + b"\x91" * 100_000 + b"\x90"])
def test_a_frame_nested_too_deep_is_refused(catalog, job_and_trace, body):
    """Never a RecursionError out of the check: a frame nested past any trace is refused."""
    job, _ = job_and_trace
    assert isinstance(check(body, job, catalog), str)


class Replay:
    """A runner that hands back the given frame bodies, as the sandbox's frame reader would have read them."""

    def __init__(self, traces: tuple) -> None:
        self.traces = traces

    def run(self, jobs, limits, on_trace=None) -> RawRun:
        return RawRun(status="finished", traces=self.traces, stdout="", stdout_truncated=False, exit_code=0, duration_ms=1.0)


@pytest.fixture(scope="module")
def recorded(catalog, pool) -> dict:
    """Real runs in the sandbox: a right and a wrong file per exercise, whose traces are forged below."""
    runs = {}
    for slug, mistake in (("linear", "no_zero_grad.py"), ("matrix_mse", "no_zero.py"), ("vector_backward", None), ("custom_linear", "transposed_weight_gradient.py")):
        exercise = catalog[slug]
        reference_traces(exercise, pool)  # cached: a replaying runner never runs the reference
        for label, path in (("right", exercise.reference_path), ("wrong", exercise.path / "mistakes" / mistake if mistake else None)):
            if path is not None:
                source = path.read_text(encoding="utf-8")
                runs[slug, label] = (source, pool.run(list(build_jobs(exercise, source)), exercise.limits).traces)
    return runs


@pytest.mark.parametrize("breakage", list(BREAKAGES), ids=list(BREAKAGES))
def test_a_forged_frame_is_the_students_outcome_never_the_graders(catalog, recorded, breakage):
    source, traces = recorded["linear", "right"]
    frame = broken_frame(msgspec.msgpack.decode(traces[0]), breakage)
    report = grade_submission(catalog["linear"], source, Replay((frame, traces[1])))
    assert report.outcome == "forbidden", report.message
    assert "malformed result" in report.message


FORGED_VALUES = [2**64 - 1, -(2**63), 2**63 - 1, True, False, None, "1.0", [], {}, -1, 0, 2**31 + 1, 1.5, math.nan, math.inf, [1.0, 2.0], {"kind": "tensor"}]


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


@pytest.mark.parametrize(
    ("slug", "label"),
    [("linear", "right"), ("linear", "wrong"), ("matrix_mse", "wrong"), ("vector_backward", "right"), ("custom_linear", "right"), ("custom_linear", "wrong")],
)
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
        edited[which] = encode(forged(msgspec.msgpack.decode(traces[which]), rng, rng.randint(1, 3)))
        report = grade_submission(exercise, source, Replay(tuple(edited)))
        assert report.outcome != "internal_error", caplog.text[-3000:]
        outcomes.add(report.outcome)
    assert "forbidden" in outcomes and len(outcomes) > 1
