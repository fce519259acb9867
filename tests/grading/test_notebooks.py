"""Submissions handed in as Jupyter notebooks: their code cells graded in order, IPython lines skipped with a note."""

from __future__ import annotations

import nbformat
import pytest
from submissions import GOOD_LINEAR

from grader.notebook import NotANotebook, looks_like_notebook, program_of
from grader.spec import ExerciseError, load_exercise


def notebook(*cells: str, markdown: str = "# Linear regression\nThe seed, as a notebook.") -> bytes:
    book = nbformat.v4.new_notebook()
    book.cells = [nbformat.v4.new_markdown_cell(markdown)] + [nbformat.v4.new_code_cell(cell) for cell in cells]
    return nbformat.writes(book).encode()


def halves(source: str) -> tuple[str, str]:
    """The module split in two code cells at its `def loss`."""
    at = source.index("def loss")
    return source[:at], source[at:]


def test_a_notebook_that_defines_the_contract_is_graded_as_a_module(grade):
    first, second = halves(GOOD_LINEAR)
    report = grade("linear", notebook("%matplotlib inline\n" + first, "!pip install torch\n" + second))
    assert report.is_full_score, report.message
    assert report.notes == ("Skipped 2 IPython line(s), which are not Python: `%matplotlib inline` (cell 1), `!pip install torch` (cell 2).",)
    assert report.to_json()["notes"] == list(report.notes)


def test_a_cell_magic_skips_its_whole_cell_and_markdown_never_runs():
    program = program_of(notebook("%%timeit\nraise SystemExit\n", "x = 1\n", markdown="raise SystemExit"))
    assert "SystemExit" not in program.source and "x = 1" in program.source
    assert program.cells[program.source.splitlines().index("x = 1")] == (2, 1)
    assert program.notes and "cell 1" in program.notes[0]


def test_a_python_file_is_no_notebook_and_a_report_without_notes_keeps_its_form(grade):
    assert not looks_like_notebook(GOOD_LINEAR.encode())
    assert looks_like_notebook(b"{}", "work.ipynb") and not looks_like_notebook(b'{"cells": []}')
    assert "notes" not in grade("linear", GOOD_LINEAR).to_json()


@pytest.mark.parametrize("body", [b'{"cells": [], "nbformat": 4}', b'{"cells": [{"cell_type": "code"}], "nbformat": 4, "nbformat_minor": 5, "metadata": {}}', b"\xff\xfe"])
def test_a_file_named_notebook_that_jupyter_cannot_open_is_refused_with_why(body):
    with pytest.raises(NotANotebook):
        program_of(body)


def test_a_broken_notebook_is_the_students_outcome(grade):
    report = grade("linear", b'{"cells": [{"cell_type": "code"}], "nbformat": 4, "nbformat_minor": 5, "metadata": {}}')
    assert report.outcome == "syntax_error" and "not a notebook Jupyter can open" in report.message


def test_an_exercise_can_refuse_notebooks(tmp_path, catalog, grade):
    import shutil

    folder = tmp_path / "linear"
    shutil.copytree(catalog["linear"].path, folder)
    toml = folder / "exercise.toml"
    toml.write_text('forms = ["contract"]\n' + toml.read_text(encoding="utf-8"), encoding="utf-8")
    exercise = load_exercise(folder)
    assert exercise.forms == ("contract",)
    from grader.grading import prepared_source

    _, _, refusal = prepared_source(exercise, notebook(GOOD_LINEAR))
    assert refusal is not None and refusal.outcome == "contract_error" and "not a notebook" in refusal.message
    toml.write_text(toml.read_text(encoding="utf-8").replace('forms = ["contract"]', 'forms = ["script?"]'), encoding="utf-8")
    with pytest.raises(ExerciseError, match="forms"):
        load_exercise(folder)
