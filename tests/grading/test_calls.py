"""The `calls` driver: its cases in exercise.toml, the frames it accepts, how it judges returned values."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

import msgspec
import pytest

from grader.drivers.calls.judge import difference
from grader.drivers.calls.trace import Returned
from grader.grading import build_jobs
from grader.reference import reference_traces
from grader.spec import ExerciseError, Tolerance, load_exercise
from grader.trace import Trace, encode
from grader.tracecheck import decoded_trace

EXERCISES = Path(__file__).resolve().parents[2] / "exercises"
TOL = Tolerance(rtol=1e-6, atol=1e-7)
BOOL_ARRAY = {"kind": "ndarray", "shape": [2], "dtype": "f", "values": [True, 1]}  # true is no number


def value(described: dict) -> Returned:
    return msgspec.convert(described, Returned)


def tensor(values, dtype="float32", shape=None, requires_grad=False, is_leaf=True, grad_fn=None) -> dict:
    return {
        "kind": "tensor", "shape": [len(values)] if shape is None else shape, "dtype": dtype, "values": values,
        "requires_grad": requires_grad, "is_leaf": is_leaf, "grad_fn": grad_fn,
    }  # fmt: skip


def test_difference_names_the_first_fact_that_differs():
    reference = tensor([2.0, 4.0], requires_grad=True, is_leaf=False, grad_fn="MulBackward0")

    def differ(actual: dict, expected: dict = reference):
        return difference(value(actual), value(expected), TOL)

    assert differ(copy.deepcopy(reference)) is None
    assert differ(tensor([2.0 + 1e-7, 4.0], requires_grad=True, is_leaf=False, grad_fn="MulBackward0")) is None
    assert differ(tensor([2.0, 4.5], requires_grad=True, is_leaf=False, grad_fn="MulBackward0")).field == "values"
    assert differ(tensor([2, 4], dtype="int64")).field == "dtype"
    assert differ(tensor([2.0, 4.0], is_leaf=False, grad_fn="MulBackward0")).field == "requires_grad"
    assert differ(tensor([2.0, 4.0], requires_grad=True, is_leaf=False, grad_fn="AddBackward0")).field == "grad_fn"
    assert differ({"kind": "number", "type": "float", "value": 2.0}).field == "kind"
    pair = {"kind": "sequence", "items": [reference, reference], "length": 2}
    other = {"kind": "sequence", "items": [reference, tensor([2.0, 4.0])], "length": 2}
    assert differ(other, pair).field == "requires_grad"
    assert differ({**pair, "items": [reference], "length": 1}, pair).field == "length"


@pytest.fixture
def job(catalog) -> dict:
    exercise = catalog["vector_backward"]
    return build_jobs(exercise, "")[0]


@pytest.fixture
def trace(catalog, pool) -> dict:
    records = reference_traces(catalog["vector_backward"], pool)
    return {"format": 2, "cases": [msgspec.to_builtins(records["seed"])]}


def problem_of(trace: dict, job: dict, catalog) -> str | Trace:
    return decoded_trace(encode(trace), job, catalog["vector_backward"])


def test_the_reference_frame_is_accepted(job, trace, catalog):
    assert isinstance(problem_of(trace, job, catalog), Trace)


@pytest.mark.parametrize(
    ("forge", "words"),
    [
        (lambda t: t["cases"][0]["calls"].pop("scalar_sum"), "not the functions of the job"),
        (lambda t: t["cases"][0].update(name="other"), "not the cases of the job"),
        (lambda t: t["cases"][0]["calls"]["grad_with_ones"].update(error={"type": "X"}), "Object missing required field"),
        (lambda t: t["cases"][0]["calls"]["grad_with_ones"]["value"].update(kind="pickle"), "Invalid value 'pickle'"),
        (lambda t: t["cases"][0]["calls"]["grad_with_ones"]["value"]["values"].append(1.0), "do not match its shape"),
        (lambda t: t["cases"][0]["calls"]["grad_with_ones"].update(value={"kind": "str", "value": 3}), "Expected `str`"),
        (lambda t: t["cases"][0]["calls"].update(grad_with_ones={}), "both or neither"),
        (
            lambda t: t["cases"][0]["calls"]["grad_with_ones"].update(
                value={"kind": "sequence", "items": [{"kind": "sequence", "items": [{"kind": "sequence", "items": [
                    {"kind": "sequence", "items": [], "length": 0}], "length": 1}], "length": 1}], "length": 1}
            ),
            "out of bounds",
        ),  # fmt: skip
        (lambda t: t["cases"][0]["calls"]["grad_with_ones"].update(value=BOOL_ARRAY), "Expected `float`"),
    ],
)
def test_a_forged_frame_is_refused(job, trace, catalog, forge, words):
    forge(trace)
    problem = problem_of(trace, job, catalog)
    assert isinstance(problem, str) and words in problem, problem


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
