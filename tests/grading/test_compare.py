"""Step-by-step judging: rounding never accumulates into a failure, a real slip is found at its step."""

from __future__ import annotations

import copy
import math
import shutil
import types
from dataclasses import replace
from pathlib import Path

import msgspec
import pytest

from grader.drivers.train import compare
from grader.drivers.train.compare import CaseJudge, is_close
from grader.drivers.train.loop import run_case
from grader.drivers.train.reference import (
    Stepper,
    job_cases,
    reference_transitions,
    stepper_for,
)
from grader.grading import build_jobs, grade_submission
from grader.reference import reference_traces
from grader.report import (
    json_safe,  # NaN as a string: each grading decodes its own NaN, which never equals another
)
from grader.sandbox import RawRun
from grader.spec import Exercise, Tolerance, load_catalog, load_exercise
from grader.trace import encode

EXERCISES = Path(__file__).resolve().parents[2] / "exercises"
TOL = Tolerance(rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(
    ("actual", "expected", "close"),
    [
        ([1.0], [1.0], True),
        ([1.0 + 5e-5], [1.0], True),
        ([1.0 + 5e-4], [1.0], False),
        ([1e-6], [0.0], True),
        ([math.nan], [math.nan], False),
        ([math.inf], [math.inf], True),
        ([math.inf], [1e30], False),
        ([1.0, 2.0], [1.0], False),
        (None, [1.0], False),
    ],
)
def test_is_close_follows_isclose_semantics(actual, expected, close):
    assert is_close(actual, expected, TOL) is close


def student_module(update_body: str) -> types.ModuleType:
    module = types.ModuleType("student")
    exec(
        "import torch\n"
        "w = torch.tensor([1.0], requires_grad=True)\n"
        "def forward(x):\n    return x * w\n"
        "def loss(x, y):\n    return (forward(x) - y) ** 2\n"
        f"def update(lr):\n{update_body}",
        module.__dict__,
    )
    return module


def judge_linear(catalog, pool, update_body: str):
    exercise = catalog["linear"]
    case = next(c for c in job_cases(exercise) if c.name == "seed")
    student = run_case(student_module(update_body), case, [])
    reference = reference_traces(exercise, pool)["seed"]
    judge = CaseJudge(stepper_for(exercise), TOL, exercise.tolerances["prediction"])
    return judge.analyse(case, student, reference, stop_early=False), student, reference


def test_drift_below_tolerance_at_each_step_never_fails_a_step(catalog, pool):
    """Each step is off by 8e-5, inside the step tolerance; together they leave the reference run's band."""
    body = "    w.data = w.data - lr * w.grad.data + 8e-5\n    w.grad.data.zero_()\n"
    analysis, student, reference = judge_linear(catalog, pool, body)
    drift = max(abs(s.params["w"].values[0] - r.params["w"].values[0]) for s, r in zip(student.steps, reference.steps))
    assert drift > TOL.atol + TOL.rtol * 2.0  # a whole-run comparison would fail these steps
    assert all(step.passed for step in analysis.steps)
    assert len(analysis.steps) == 300


def test_a_single_slip_is_found_at_its_own_step(catalog, pool):
    body = (
        "    global count\n"
        "    count = globals().get('count', 0) + 1\n"
        "    w.data = w.data - lr * w.grad.data + (1e-3 if count == 42 else 0.0)\n"
        "    w.grad.data.zero_()\n"
    )
    analysis, _, _ = judge_linear(catalog, pool, body)
    failed = [step.index for step in analysis.steps if not step.passed]
    assert failed == [42]
    assert analysis.first.quantity == "param" and analysis.first.step.index == 42
    assert analysis.first.actual[0] == pytest.approx(analysis.first.expected[0] + 1e-3, abs=1e-6)


def test_update_is_judged_on_the_students_own_gradients(catalog, pool):
    """A recorded gradient that is wrong, with parameters that land on the cached run anyway: the
    update did not use the gradient the student had, so it fails even though the values look right."""
    exercise = catalog["linear"]
    case = next(c for c in job_cases(exercise) if c.name == "seed")
    student = run_case(student_module("    w.data = w.data - lr * w.grad.data\n    w.grad.data.zero_()\n"), case, [])
    recorded = student.steps[0].grads["w"]
    recorded.values = [2 * v for v in recorded.values]
    judge = CaseJudge(stepper_for(exercise), TOL, exercise.tolerances["prediction"])
    analysis = judge.analyse(case, student, reference_traces(exercise, pool)["seed"], stop_early=False)
    assert analysis.steps[0].grads_ok == {"w": False}
    assert analysis.steps[0].update_ok == {"w": False}


TRAIN = [slug for slug, exercise in load_catalog(EXERCISES).items() if exercise.driver == "train"]


class Replay:
    """A runner that hands back one recorded run, so one trace can be judged several ways."""

    def __init__(self, raw: RawRun) -> None:
        self.raw = raw

    def run(self, jobs, limits, on_trace=None) -> RawRun:
        return replace(self.raw, traces=copy.deepcopy(self.raw.traces))


def assert_shortcuts_judge_as_the_full_path(exercise: Exercise, pool, monkeypatch) -> None:
    """Each solution and labelled mistake, one recorded run judged three ways: as a warm grader
    on this machine does (vectorized reference steps where `enable_batching` allows them here,
    and steps recorded exactly as the reference's passed without comparison), with single
    steps, and with every step compared. Same report."""
    stepper = stepper_for(exercise)
    warm = stepper.enable_batching(job_cases(exercise), reference_traces(exercise, pool)) is None
    try:
        for labelled in exercise.solutions() + exercise.mistakes():
            source = labelled.path.read_text(encoding="utf-8")
            replay = Replay(pool.run(list(build_jobs(exercise, source)), exercise.limits))
            reports = []
            for batched, shortcut in ((warm, True), (False, True), (warm, False)):
                stepper.batched = batched
                with monkeypatch.context() as patch:
                    if not shortcut:
                        patch.setattr(compare, "_recorded_as", lambda raw, ref_step: False)
                    reports.append(json_safe(grade_submission(exercise, source, replay).to_json()) | {"duration_ms": None})
            assert reports[0] == reports[1] == reports[2], labelled.path.name
    finally:
        stepper.batched = warm


@pytest.mark.parametrize("slug", TRAIN)
def test_shortcuts_judge_every_file_as_the_full_path_does(catalog, pool, slug, monkeypatch):
    """On whichever path this machine takes: vectorized where its CPU gives single steps' bits."""
    assert_shortcuts_judge_as_the_full_path(catalog[slug], pool, monkeypatch)


def test_shortcuts_judge_as_the_full_path_where_vectorized_steps_differ(catalog, pool, monkeypatch):
    """A CPU whose vectorized kernels round otherwise (Intel AVX-512 on `matrix_mse`): the grader
    keeps single steps there, and the reports are still those of the full path."""
    exercise = catalog["matrix_mse"]
    stepper = stepper_for(exercise)
    vectorized = Stepper._vectorized_updates

    def rounded_otherwise(self, starts, grads, lr):
        return [{name: [v + 1e-9 * abs(v) for v in values] for name, values in state.items()} for state in vectorized(self, starts, grads, lr)]

    before = stepper.batched
    monkeypatch.setattr(Stepper, "_vectorized_updates", rounded_otherwise)
    try:
        assert "vectorized steps differ from single steps" in stepper.enable_batching(job_cases(exercise), reference_traces(exercise, pool))
        assert_shortcuts_judge_as_the_full_path(exercise, pool, monkeypatch)
    finally:
        stepper.batched = before


def exercise_with_reference(tmp_path: Path, slug: str, replace_lines: dict[str, str]) -> Exercise:
    folder = tmp_path / slug
    shutil.copytree(EXERCISES / slug, folder)
    reference = folder / "reference.py"
    text = reference.read_text(encoding="utf-8")
    for old, new in replace_lines.items():
        assert old in text
        text = text.replace(old, new)
    reference.write_text(text, encoding="utf-8")
    return load_exercise(folder)


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        # a row-mixing update: the gradient clipped by the norm of the whole tensor
        ({"w.data = w.data - lr * w.grad.data": "w.data = w.data - lr * w.grad.data / max(1.0, float(w.grad.data.norm()))"}, "differ"),
        # a loss that branches on a value, which vmap refuses
        ({"    return (y_pred - y) ** 2": "    if float((y_pred - y).detach().abs().max()) < 0:\n        raise ValueError('never')\n    return (y_pred - y) ** 2"}, "Error"),
    ],
)
def test_a_reference_that_does_not_vectorize_keeps_single_steps(tmp_path, pool, changes, reason):
    exercise = exercise_with_reference(tmp_path, "linear", changes)
    cases, traces = job_cases(exercise), reference_traces(exercise, pool)
    stepper = Stepper(exercise)
    problem = stepper.enable_batching(cases, traces)
    assert problem is not None and reason in problem
    assert stepper.batched is False
    starts, xs, ys, grads = reference_transitions(cases[0], traces[cases[0].name])
    assert stepper.losses_and_grads(starts[:5], xs[:5], ys[:5]) == [stepper.loss_and_grads(*step) for step in zip(starts[:5], xs[:5], ys[:5])]
    assert stepper.updates(starts[:5], grads[:5], 0.01) == [stepper.updated(s, g, 0.01) for s, g in zip(starts[:5], grads[:5])]


def test_a_vectorized_call_that_fails_falls_back_to_single_steps(catalog, pool, monkeypatch):
    exercise = catalog["linear"]
    case = job_cases(exercise)[0]
    starts, xs, ys, grads = reference_transitions(case, reference_traces(exercise, pool)[case.name])
    stepper = Stepper(exercise)
    stepper.batched = True

    def refuse(*_):
        raise RuntimeError("a state no reference run went through")

    monkeypatch.setattr(stepper, "_vectorized_losses", refuse)
    monkeypatch.setattr(stepper, "_vectorized_updates", refuse)
    assert stepper.losses_and_grads(starts[:3], xs[:3], ys[:3]) == [stepper.loss_and_grads(*step) for step in zip(starts[:3], xs[:3], ys[:3])]
    assert stepper.updates(starts[:3], grads[:3], case.lr) == [stepper.updated(s, g, case.lr) for s, g in zip(starts[:3], grads[:3])]


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, 1e38, -0.0, 3])
def test_forged_numbers_judge_alike_vectorized_or_not(catalog, pool, value):
    """A recorded state the reference never went through (what a forged frame may hold): the
    vectorized steps and the single ones still give the same report."""
    exercise = catalog["linear"]
    stepper = stepper_for(exercise)
    assert stepper.enable_batching(job_cases(exercise), reference_traces(exercise, pool)) is None
    source = (exercise.path / "mistakes" / "no_zero_grad.py").read_text(encoding="utf-8")
    raw = pool.run(list(build_jobs(exercise, source)), exercise.limits)
    forged = []
    for body in raw.traces:
        trace = msgspec.msgpack.decode(body)
        for case in trace["cases"]:
            for step in case["steps"][5::7]:
                step["params"]["w"]["values"] = [value]
        forged.append(encode(trace))
    raw = replace(raw, traces=tuple(forged))
    reports = []
    for batched in (True, False):
        stepper.batched = batched
        reports.append(json_safe(grade_submission(exercise, source, Replay(raw)).to_json()) | {"duration_ms": None})
    stepper.batched = True
    assert reports[0] == reports[1]
    assert reports[0]["outcome"] == "ok" and reports[0]["score"] < reports[0]["max_score"]


@pytest.mark.parametrize("slug", TRAIN)
def test_the_trusted_side_takes_the_very_samples_the_sandbox_loop_takes(catalog, slug):
    """`training_samples` stands on both sides of the boundary (the loop's and the stepper's): the same."""
    import torch

    from grader.drivers.train import loop, reference

    for case in job_cases(catalog[slug]):
        inside, outside = loop.training_samples(case), reference.training_samples(case)
        assert len(inside) == len(outside)
        for (x, y), (x2, y2) in zip(inside, outside):
            for a, b in ((x, x2), (y, y2)):
                assert type(a) is type(b) and (torch.equal(a, b) if isinstance(a, torch.Tensor) else a == b)


def test_a_parameter_made_complex_ends_the_run_without_a_grader_fault(grade):
    """A complex tensor is recorded without its values: the judge cannot step the reference from it."""
    from submissions import GOOD_LINEAR

    report = grade("linear", GOOD_LINEAR.replace("w.data = w.data - lr * w.grad.data", "w.data = (w.data - lr * w.grad.data).to(torch.complex64)"))
    assert report.outcome != "internal_error" and not report.is_full_score

