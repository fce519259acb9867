"""The references reproduce the seeds' printed PyTorch output to every printed digit."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.drivers.train.loop import run_case
from grader.drivers.train.reference import job_cases
from grader.drivers.train.trace import CaseRecord
from grader.reference import load_reference
from grader.spec import Exercise

SEED_OUTPUTS = Path(__file__).resolve().parent.parent / "data" / "seed_outputs.txt"


def reference_trace(exercise: Exercise, case_name: str = "seed") -> CaseRecord:
    case = next(c for c in job_cases(exercise) if c.name == case_name)
    return run_case(load_reference(exercise), case, [])


def seed_output(section: str) -> list[str]:
    lines, current = {}, None
    for line in SEED_OUTPUTS.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = line[1:-1]
            lines[current] = []
        else:
            lines[current].append(line)
    return lines[section]


def test_linear_reference_reproduces_seed_trace(catalog):
    trace = reference_trace(catalog["linear"])
    grads = [step.grads["w"].values[0] for step in trace.steps[:3]]
    assert grads == [-2.0, -7.840000152587891, -16.228801727294922]
    assert trace.steps[2].loss.values[0] == 7.315943717956543  # 'progress: 0'
    assert trace.prediction.values[0] == 7.999998569488525


def test_quadratic_reference_reproduces_seed_trace(catalog):
    trace = reference_trace(catalog["quadratic"])
    first, second = (tuple(step.grads[n].values[0] for n in ("w1", "w2", "b")) for step in trace.steps[:2])
    assert first == (2.0, 2.0, 2.0)
    assert second == (22.880001068115234, 11.440000534057617, 5.720000267028809)
    assert trace.steps[2].loss.values[0] == 18.321826934814453  # 'Epoch: 0'
    assert trace.prediction.values[0] == 8.544171333312988


def test_one_sample_mse_reference_reproduces_seed_003(catalog):
    trace = reference_trace(catalog["one_sample_mse"])
    grads = [step.grads["w"].values[0] for step in trace.steps]
    assert [f"{g:.4f}" for g in grads[:4]] == ["-56.4745", "-11.2949", "-2.2590", "-0.4518"]  # as the seed printed
    assert f"{grads[-1]:.4e}" == "-3.0518e-05"
    assert f"{trace.prediction.values[0]:.4f}" == "5.0000"


@pytest.mark.parametrize("slug", ["linear", "quadratic", "one_sample_mse", "vector_backward", "tensor_facts", "detach_numpy"])
def test_seed_program_prints_the_seed_output_line_for_line(grade, catalog, slug):
    """The seed's own program, graded in the sandbox, prints exactly what the tutorial printed."""
    source = (catalog[slug].path / "solutions" / "seed.py").read_text(encoding="utf-8")
    report = grade(slug, source)
    expected = seed_output(slug)
    assert report.stdout.splitlines()[: len(expected)] == expected
    assert report.is_full_score, report.to_json()


def test_matrix_reference_matches_the_seed_formulas(catalog):
    """The seed prints 4-digit values from an unseeded randn; its relations must hold exactly."""
    import torch

    exercise = catalog["matrix_mse"]
    trace = reference_trace(exercise)
    case = next(c for c in job_cases(exercise) if c.name == "seed")
    w = torch.tensor(case.init["w"].values).reshape(5, 3)
    b = torch.tensor(case.init["b"].values)
    z = torch.ones(2, 5) @ w + b
    assert trace.probe[0].values == z.reshape(-1).tolist()
    assert trace.steps[0].loss.values[0] == pytest.approx((z**2).mean().item(), rel=1e-6)
    # dL/dw = x^T (2/6)(z - y): every row of the seed's printed w.grad is the same, and equals b.grad.
    grad_w = trace.steps[0].grads["w"].values
    grad_b = trace.steps[0].grads["b"].values
    assert grad_w == grad_b * 5
    assert grad_b == pytest.approx((2 * z.sum(0) / 6).tolist(), rel=1e-6)


def test_scalar_descent_seed_program_prints_every_line_the_tutorial_kept(grade, catalog):
    """The tutorial's transcript skips some of its 100 lines: each one it kept is printed, in order."""
    source = (catalog["scalar_descent"].path / "solutions" / "seed.py").read_text(encoding="utf-8")
    report = grade("scalar_descent", source)
    printed = report.stdout.splitlines()
    positions = [printed.index(line) for line in seed_output("scalar_descent")]
    assert positions == sorted(positions) and positions[0] == 0
    assert report.is_full_score, report.to_json()


def test_scalar_descent_reference_reproduces_seed_004(catalog):
    weights, grads, losses = load_reference(catalog["scalar_descent"]).minimise(10.0, 0.01, 100)
    printed = (repr(weights[0].item()), repr(grads[1].item()), repr(losses[2].item()))
    assert printed == ("9.800000190734863", "19.600000381469727", "112.23681640625")  # steps 1, 2, 3 of the table
