"""The `gradelab` command: listing, statements, starters, grading exit codes, self-check."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader.cli import main

ROOT = Path(__file__).resolve().parent.parent
SEED_LINEAR = ROOT / "exercises" / "linear" / "solutions" / "seed.py"
ASCENT = ROOT / "exercises" / "linear" / "mistakes" / "ascent.py"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_exercises_lists_the_catalog(runner):
    result = runner.invoke(main, ["exercises"])
    assert result.exit_code == 0
    assert [line.split()[0] for line in result.output.splitlines()] == ["tensor_facts", "vector_backward", "linear", "quadratic", "one_sample_mse", "scalar_descent", "detach_numpy", "matrix_mse", "retain_create_graph", "nn_linear"]


def test_show_prints_the_statement_in_each_language(runner):
    english = runner.invoke(main, ["show", "quadratic"])
    chinese = runner.invoke(main, ["show", "quadratic", "--lang", "zh"])
    assert english.exit_code == chinese.exit_code == 0
    assert "What to write" in english.output
    assert "要写什么" in chinese.output


def test_starter_writes_a_file_once(runner, tmp_path):
    target = tmp_path / "mine.py"
    first = runner.invoke(main, ["starter", "linear", "-o", str(target)])
    again = runner.invoke(main, ["starter", "linear", "-o", str(target)])
    assert first.exit_code == 0 and "def update(lr):" in target.read_text(encoding="utf-8")
    assert again.exit_code == 1 and "not overwriting" in again.output


def test_grade_full_marks_exits_0(runner):
    result = runner.invoke(main, ["grade", "linear", str(SEED_LINEAR)])
    assert result.exit_code == 0, result.output
    assert "linear: 100/100 (ok)" in result.output


def test_grade_below_full_exits_1_and_explains(runner):
    result = runner.invoke(main, ["grade", "linear", str(ASCENT)])
    assert result.exit_code == 1
    assert "[wrong_sign]" in result.output
    assert "First divergence" in result.output and "step 1" in result.output and "expected [1.02], got [0.98]" in result.output


def test_grade_json_is_the_result_contract(runner):
    result = runner.invoke(main, ["grade", "linear", str(ASCENT), "--json"])
    data = json.loads(result.output)
    for key in ("exercise", "score", "max_score", "outcome", "checks", "diagnoses", "stdout", "duration_ms"):
        assert key in data
    assert data["outcome"] == "ok" and data["score"] < data["max_score"] == 100
    assert {"id", "passed", "points", "max_points", "hidden", "message"} <= set(data["checks"][0])
    assert data["diagnoses"][0]["code"] == "wrong_sign"


def test_grade_json_has_no_bare_nan(runner):
    diverging = ROOT / "exercises" / "linear" / "mistakes" / "huge_step.py"
    result = runner.invoke(main, ["grade", "linear", str(diverging), "--json"])
    json.loads(result.output, parse_constant=lambda name: pytest.fail(f"bare {name} in JSON"))


@pytest.mark.parametrize(
    "args",
    [["grade", "nonexistent", str(SEED_LINEAR)], ["grade", "linear", "/no/such/file.py"], ["grade", "linear"], ["show", "linear", "--lang", "fr"]],
    ids=["unknown-exercise", "missing-file", "no-file", "bad-language"],
)
def test_usage_errors_exit_2(runner, args):
    result = runner.invoke(main, args)
    assert result.exit_code == 2


def test_unreadable_file_exits_2(runner, tmp_path):
    folder = tmp_path / "a-folder.py"
    folder.mkdir()
    assert runner.invoke(main, ["grade", "linear", str(folder)]).exit_code == 2


def test_check_exercises_console_script_is_green():
    """The installed command itself, as a user runs it (one exercise: the others run in test_exercise_files)."""
    result = subprocess.run(
        [str(Path(sys.executable).parent / "gradelab"), "check-exercises", "linear"], capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 failed" in result.stdout
    assert "mistakes/no_zero_grad.py" in result.stdout and "missing_zero_grad" in result.stdout
    assert "note:" not in result.stdout  # linear's reference steps are vectorized


def test_check_exercises_notes_a_reference_that_steps_one_at_a_time(runner, tmp_path):
    """A value-dependent branch in the reference's loss: vmap refuses it, grading stays right."""
    import shutil

    folder = shutil.copytree(ROOT / "exercises" / "linear", tmp_path / "linear")
    for path in [*(folder / "mistakes").glob("*.py"), *(folder / "solutions").glob("*.py")]:
        if path.name not in ("ascent.py", "no_zero_grad.py", "seed.py"):
            path.unlink()
    reference = folder / "reference.py"
    guard = "    if float((y_pred - y).detach().abs().max()) < 0:\n        raise ValueError('never')\n"
    reference.write_text(reference.read_text(encoding="utf-8").replace("    return (y_pred - y) ** 2", guard + "    return (y_pred - y) ** 2"), encoding="utf-8")
    result = runner.invoke(main, ["--exercises", str(tmp_path), "check-exercises"])
    assert result.exit_code == 0, result.output
    assert "4 passed, 0 failed" in result.output
    assert "note: linear: reference steps run one at a time" in result.output


def test_check_exercises_fails_on_a_mislabelled_mistake(runner, tmp_path):
    import shutil

    shutil.copytree(ROOT / "exercises" / "linear", tmp_path / "linear")
    for path in (tmp_path / "linear" / "mistakes").glob("*.py"):
        if path.name != "ascent.py":
            path.unlink()
    ascent = tmp_path / "linear" / "mistakes" / "ascent.py"
    ascent.write_text(ascent.read_text(encoding="utf-8").replace("# expect: wrong_sign", "# expect: no_update"), encoding="utf-8")
    result = runner.invoke(main, ["--exercises", str(tmp_path), "check-exercises"])
    assert result.exit_code == 1
    assert "FAIL: no no_update diagnosis" in result.output


def gradelab_without_bubblewrap(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The installed command on a machine where `bwrap` cannot be found."""
    empty = tmp_path / "empty-path"
    empty.mkdir(exist_ok=True)
    command = [str(Path(sys.executable).parent / "gradelab"), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, env={"PATH": str(empty), "HOME": str(tmp_path)})


def test_grade_refuses_to_run_code_without_a_sandbox(tmp_path):
    result = gradelab_without_bubblewrap(tmp_path, "grade", "linear", str(SEED_LINEAR))
    assert result.returncode == 3
    assert "refusing to run untrusted code: bubblewrap is not installed" in result.stderr
    assert "--unsafe-no-sandbox" in result.stderr
    assert "100/100" not in result.stdout


def test_unsafe_no_sandbox_grades_your_own_code_with_a_warning(tmp_path):
    result = gradelab_without_bubblewrap(tmp_path, "grade", "linear", str(SEED_LINEAR), "--unsafe-no-sandbox")
    assert result.returncode == 0, result.stderr
    assert "linear: 100/100 (ok)" in result.stdout
    assert "unisolated" in result.stderr
