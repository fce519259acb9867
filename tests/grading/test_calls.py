"""The `calls` driver: its cases in exercise.toml, the frames it accepts, how it judges returned values."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

import pytest

from grader.calls import difference
from grader.reference import job_cases, reference_traces
from grader.spec import ExerciseError, Tolerance, load_exercise
from grader.tracecheck import trace_problem

EXERCISES = Path(__file__).resolve().parents[2] / "exercises"
TOL = Tolerance(rtol=1e-6, atol=1e-7)
BOOL_ARRAY = {"kind": "ndarray", "shape": [2], "dtype": "f", "values": [True, 1]}  # JSON true is no number


def tensor(values, dtype="float32", shape=None, requires_grad=False, is_leaf=True, grad_fn=None) -> dict:
    return {
        "kind": "tensor", "shape": [len(values)] if shape is None else shape, "dtype": dtype, "values": values,
        "requires_grad": requires_grad, "is_leaf": is_leaf, "grad_fn": grad_fn,
    }  # fmt: skip


def test_difference_names_the_first_fact_that_differs():
    reference = tensor([2.0, 4.0], requires_grad=True, is_leaf=False, grad_fn="MulBackward0")
    assert difference(copy.deepcopy(reference), reference, TOL) is None
    assert difference(tensor([2.0 + 1e-7, 4.0], requires_grad=True, is_leaf=False, grad_fn="MulBackward0"), reference, TOL) is None
    assert difference(tensor([2.0, 4.5], requires_grad=True, is_leaf=False, grad_fn="MulBackward0"), reference, TOL).field == "values"
    assert difference(tensor([2, 4], dtype="int64"), reference, TOL).field == "dtype"
    assert difference(tensor([2.0, 4.0], is_leaf=False, grad_fn="MulBackward0"), reference, TOL).field == "requires_grad"
    assert difference(tensor([2.0, 4.0], requires_grad=True, is_leaf=False, grad_fn="AddBackward0"), reference, TOL).field == "grad_fn"
    assert difference({"kind": "number", "type": "float", "shape": [], "values": [2.0]}, reference, TOL).field == "kind"
    pair = {"kind": "sequence", "items": [reference, reference], "length": 2}
    other = {"kind": "sequence", "items": [reference, tensor([2.0, 4.0])], "length": 2}
    assert difference(other, pair, TOL).field == "requires_grad"
    assert difference({**pair, "items": [reference], "length": 1}, pair, TOL).field == "length"


@pytest.fixture
def job(catalog) -> dict:
    exercise = catalog["vector_backward"]
    cases = [case for case in job_cases(exercise) if not case["hidden"]]
    return {"driver": "calls", "functions": dict(exercise.functions), "parameters": {}, "cases": cases}


@pytest.fixture
def trace(catalog) -> dict:
    records = reference_traces(catalog["vector_backward"])
    return {"format": 1, "load": {"ok": True}, "contract": [], "cases": [copy.deepcopy(records["seed"])]}


def test_the_reference_frame_is_accepted(job, trace):
    assert trace_problem(trace, job) is None


@pytest.mark.parametrize(
    ("forge", "words"),
    [
        (lambda t: t["cases"][0]["calls"].pop("scalar_sum"), "not the functions of the job"),
        (lambda t: t["cases"][0].update(name="other"), "not the cases of the job"),
        (lambda t: t["cases"][0]["calls"]["grad_with_ones"].update(error={"type": "X"}), "Object missing required field"),
        (lambda t: t["cases"][0]["calls"]["grad_with_ones"]["value"].update(kind="pickle"), "unknown form"),
        (lambda t: t["cases"][0]["calls"]["grad_with_ones"]["value"]["values"].append(1.0), "do not match its shape"),
        (lambda t: t["cases"][0]["calls"]["grad_with_ones"].update(value={"kind": "str", "value": 3}), "not one"),
        (lambda t: t["cases"][0]["calls"].update(grad_with_ones={}), "both or neither"),
        (
            lambda t: t["cases"][0]["calls"]["grad_with_ones"].update(
                value={"kind": "sequence", "items": [{"kind": "sequence", "items": [{"kind": "sequence", "items": [
                    {"kind": "sequence", "items": [], "length": 0}], "length": 1}], "length": 1}], "length": 1}
            ),
            "out of bounds",
        ),  # fmt: skip
        (lambda t: t["cases"][0]["calls"]["grad_with_ones"].update(value=BOOL_ARRAY), "unknown form"),
    ],
)
def test_a_forged_frame_is_refused(job, trace, forge, words):
    forge(trace)
    problem = trace_problem(trace, job)
    assert problem is not None and words in problem, problem


@pytest.fixture
def calls_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "vector_backward"
    shutil.copytree(EXERCISES / "vector_backward", folder)
    return folder


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("grad_with_ones = [4], ", "", "cases[0].args"),
        ("grad_with_ones = [4]", "grad_with_ones = [4, 5]", "cases[0].args.grad_with_ones"),
        ("grad_with_ones = 20", "grad_with_one = 20", "points"),
    ],
)
def test_a_broken_calls_exercise_is_named(calls_copy, old, new, field):
    toml = calls_copy / "exercise.toml"
    text = toml.read_text()
    assert old in text
    toml.write_text(text.replace(old, new, 1))
    with pytest.raises(ExerciseError) as caught:
        load_exercise(calls_copy)
    assert caught.value.field_name == field


def test_odd_return_values_are_judged_not_crashed(grade):
    source = (EXERCISES / "vector_backward" / "reference.py").read_text() + (
        "\n\nimport numpy\n\ndef grad_with_ones(n):\n    return numpy.ones(n)\n"
        "\n\ndef scalar_sum(a, b):\n    return (x for x in range(3))\n"
        "\n\ndef grad_with_weights(n, weights):\n    return [[[[[1.0]]]]] * 10_000\n"
    )
    report = grade("vector_backward", source)
    assert report.outcome == "ok" and report.score == 0
    assert {d.code for d in report.diagnoses} == {"wrong_value"}
