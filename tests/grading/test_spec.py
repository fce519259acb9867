"""A broken exercise folder fails at load time, naming the file and the field."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from grader.spec import ExerciseError, folder_version, load_catalog, load_exercise

EXERCISES = Path(__file__).resolve().parent.parent.parent / "exercises"


@pytest.fixture
def linear_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "linear"
    shutil.copytree(EXERCISES / "linear", folder)
    return folder


def break_toml(folder: Path, old: str, new: str) -> None:
    path = folder / "exercise.toml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.mark.parametrize(
    ("old", "new", "field", "words"),
    [
        ("lr = 0.01", 'lr = "fast"', "cases[0].lr", "expected"),
        ("epochs = 100", "epochs = 0", "cases[0].epochs", "at least 1"),
        ('driver = "train"', 'driver = "magic"', "driver", "'magic' is not a kind of exercise; the known kinds are calls, "),
        ("gradients = 15", "gradiants = 15", "points", "gradients"),
        ("init = { w = [1.0] }", "init = { v = [1.0] }", "cases[0].init", "missing ['w']"),
        ("step = { rtol = 1e-4, atol = 1e-5 }", "step = { rtol = -1, atol = 1e-5 }", "tolerance.step", "negative"),
        ('name = "two-points"', 'name = "seed"', "cases[2].name", "used twice"),
        ("x = [1.0, 2.0, 3.0]", 'x = [1.0, "two"]', "cases[0].x", "only numbers"),
        ("[points]", "[pointz]", "points", "is required"),
        ("order = 30", 'order = "first"', "order", "expected int"),
    ],
)
def test_broken_field_is_named(linear_copy, old, new, field, words):
    break_toml(linear_copy, old, new)
    with pytest.raises(ExerciseError) as caught:
        load_exercise(linear_copy)
    assert caught.value.path == linear_copy / "exercise.toml"
    assert caught.value.field_name == field
    assert words in str(caught.value)
    assert str(linear_copy / "exercise.toml") in str(caught.value)


def test_invalid_toml_names_the_file(linear_copy):
    (linear_copy / "exercise.toml").write_text("title = {", encoding="utf-8")
    with pytest.raises(ExerciseError, match="not valid TOML"):
        load_exercise(linear_copy)


@pytest.mark.parametrize("name", ["reference.py", "starter.py", "statement.zh.md"])
def test_missing_file_is_named(linear_copy, name):
    (linear_copy / name).unlink()
    with pytest.raises(ExerciseError) as caught:
        load_exercise(linear_copy)
    assert caught.value.path == linear_copy / name


def test_unlabelled_mistake_is_named(linear_copy):
    mistake = linear_copy / "mistakes" / "ascent.py"
    mistake.write_text(mistake.read_text(encoding="utf-8").replace("# expect: wrong_sign", "# a bug"), encoding="utf-8")
    with pytest.raises(ExerciseError) as caught:
        load_exercise(linear_copy)
    assert caught.value.path == mistake and "# expect:" in str(caught.value)


def test_any_change_makes_a_new_version(linear_copy):
    before = folder_version(linear_copy)
    (linear_copy / "statement.en.md").write_text("changed", encoding="utf-8")
    assert folder_version(linear_copy) != before


def test_catalog_lists_the_core_exercises():
    catalog = load_catalog(EXERCISES)
    assert {"linear", "quadratic", "matrix_mse"} <= set(catalog)
    for exercise in catalog.values():
        assert exercise.max_score == 100
        assert exercise.title["zh"] and exercise.statement("zh")
