"""Every reference and solution scores full; every labelled mistake gets its diagnosis."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from grader.drivers.calls import judge as calls
from grader.drivers.function import judge as function
from grader.drivers.train.diagnose import CODES
from grader.spec import load_catalog

EXERCISES = Path(__file__).resolve().parent.parent.parent / "exercises"
CATALOG = load_catalog(EXERCISES)
CORRECT = [(slug, ex.reference_path) for slug, ex in CATALOG.items()] + [
    (slug, f.path) for slug, ex in CATALOG.items() for f in ex.solutions()
]
MISTAKES = [(slug, f.path, f.label) for slug, ex in CATALOG.items() for f in ex.mistakes()]
# DESIGN.md section 3: the diagnoses every exercise set must be able to name.
REQUIRED_CODES = (
    "missing_zero_grad", "no_update", "wrong_sign", "wrong_learning_rate", "detached_loss",
    "non_leaf_parameter", "lost_requires_grad", "integer_dtype", "wrong_reduction", "wrong_forward",
    "wrong_loss", "shape_mismatch", "hardcoded_output", "graph_reused", "missing_global", "diverged",
)


def _id(path: Path) -> str:
    return f"{path.parent.parent.name if path.parent.name in ('solutions', 'mistakes') else path.parent.name}/{path.name}"


@pytest.mark.parametrize(("slug", "path"), CORRECT, ids=[_id(p) for _, p in CORRECT])
def test_correct_code_scores_full(grade, slug, path):
    report = grade(slug, path.read_bytes())
    assert report.outcome == "ok"
    assert report.score == report.max_score == 100
    assert report.diagnoses == ()


@pytest.mark.parametrize(("slug", "path", "label"), MISTAKES, ids=[_id(p) for _, p, _ in MISTAKES])
def test_mistake_gets_its_diagnosis(grade, slug, path, label):
    report = grade(slug, path.read_bytes())
    assert report.score < report.max_score
    assert label in report.codes, report.to_json()["diagnoses"]
    diagnosis = next(d for d in report.diagnoses if d.code == label)
    assert len(diagnosis.message) > 40


def test_every_diagnosis_code_has_two_different_mistakes():
    labels = Counter(label for _, _, label in MISTAKES)
    assert set(REQUIRED_CODES) <= set(CODES)
    too_few = {code: labels[code] for code in CODES + calls.CODES + function.CODES if labels[code] < 2}
    assert not too_few, f"codes with fewer than two labelled mistakes: {too_few}"


def test_mistake_files_are_all_different():
    bodies = [path.read_text(encoding="utf-8") for _, path, _ in MISTAKES]
    assert len(set(bodies)) == len(bodies)


def test_hidden_case_messages_reveal_no_values(grade, catalog):
    """A submission right only on the visible case learns nothing about the hidden ones."""
    path = catalog["linear"].path / "mistakes" / "replayed_weights.py"
    report = grade("linear", path.read_bytes())
    hidden_inputs = [str(v) for case in catalog["linear"].cases if case.hidden for v in (*case.x, *case.y, case.lr)]
    text = " ".join([c.message for c in report.checks if c.hidden] + [d.message for d in report.diagnoses])
    assert report.codes == ["hardcoded_output"]
    assert not [value for value in hidden_inputs if value in text]
    assert all(d.step is None for d in report.diagnoses if d.hidden)
