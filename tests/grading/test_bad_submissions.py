"""Broken submissions end in their outcome, with a message that points at the student's line."""

from __future__ import annotations

import pytest
from submissions import GOOD_LINEAR


def assert_no_harness_internals(text: str) -> None:
    for internal in ("harness.py", "Traceback", "grader/", "run_case"):
        assert internal not in text


def test_syntax_error_names_line_and_text(grade):
    source = GOOD_LINEAR.replace("return x * w", "return x * w)")
    report = grade("linear", source)
    assert report.outcome == "syntax_error"
    assert report.score == 0
    assert report.error["line"] == 7
    assert "line 7" in report.message and "return x * w)" in report.message
    assert_no_harness_internals(report.message)


def test_missing_function_is_a_contract_error(grade):
    source = GOOD_LINEAR.split("def update")[0]
    report = grade("linear", source)
    assert report.outcome == "contract_error"
    assert "def update(lr):" in report.message
    assert all(not c.passed for c in report.checks)


def test_missing_parameter_is_a_contract_error(grade):
    report = grade("linear", GOOD_LINEAR.replace("w = torch.tensor([1.0], requires_grad=True)", "weight = torch.tensor([1.0])"))
    assert report.outcome == "contract_error"
    assert "parameter `w`" in report.message


def test_parameter_that_is_not_a_tensor_is_a_contract_error(grade):
    report = grade("linear", GOOD_LINEAR.replace("w = torch.tensor([1.0], requires_grad=True)", "w = 1.0"))
    assert report.outcome == "contract_error"
    assert "must be a tensor" in report.message and "float" in report.message


def test_wrong_signature_names_the_line(grade):
    report = grade("linear", GOOD_LINEAR.replace("def update(lr):", "def update():"))
    assert report.outcome == "contract_error"
    assert "`update` must take 1 argument(s)" in report.message
    assert "update()" in report.message and "line 14" in report.message


def test_exception_in_student_code_points_at_their_line(grade):
    source = GOOD_LINEAR.replace("return (forward(x) - y) ** 2", "return (forward(x) - y) ** 2 + 1 / (x - x)")
    report = grade("linear", source)
    assert report.outcome == "crashed"
    assert {k: report.error[k] for k in ("type", "line", "function", "step")} == {
        "type": "ZeroDivisionError", "line": 11, "function": "loss", "step": 1,
    }
    assert "line 11" in report.message
    diagnosis = report.diagnoses[0]
    assert diagnosis.code == "runtime_error"
    assert "line 11" in diagnosis.message and "loss()" in diagnosis.message
    assert "(forward(x) - y) ** 2 + 1 / (x - x)" in diagnosis.message
    assert_no_harness_internals(diagnosis.message)


def test_exception_at_import_is_a_crash_with_its_line(grade):
    report = grade("linear", GOOD_LINEAR + "\nraise ValueError('boom')\n")
    assert report.outcome == "crashed"
    assert report.error["line"] == 18
    assert "ValueError" in report.message and "line 18" in report.message


def test_missing_global_is_explained_in_words(grade):
    report = grade("linear", GOOD_LINEAR.replace("w.data = w.data - lr * w.grad.data\n    w.grad.data.zero_()", "w = w - lr * w.grad"))
    diagnosis = report.diagnoses[0]
    assert diagnosis.code == "missing_global"
    assert "global w" in diagnosis.message and "local variable" in diagnosis.message
    assert "line 15" in diagnosis.message


@pytest.mark.parametrize(
    ("source", "outcome", "words"),
    [
        (b"w = 1\n\xff\xfe not utf-8\n", "syntax_error", "not UTF-8"),
        ("x = 1\n" * 60_000, "contract_error", "limited to"),
        ("", "contract_error", "def forward(x):"),
    ],
    ids=["non-utf8", "too-large", "empty"],
)
def test_unreadable_sources_are_refused_with_a_message(grade, source, outcome, words):
    report = grade("linear", source)
    assert report.outcome == outcome
    assert words in report.message
    assert report.score == 0 and report.max_score == 100


def test_fake_result_on_stdout_changes_nothing(grade):
    fake = '{"format": 1, "load": {"ok": true}, "contract": [], "cases": []}'
    source = GOOD_LINEAR.replace("def update(lr):\n", f"def update(lr):\n    print({fake!r})\n").replace("w.data - lr", "w.data + lr")
    report = grade("linear", source)
    assert report.codes == ["wrong_sign"]
    assert fake in report.stdout


def test_exit_at_import_is_a_crash(grade):
    report = grade("linear", "import os\nos._exit(0)\n" + GOOD_LINEAR)
    assert report.outcome == "crashed"
    assert "exit code 0" in report.message




def test_flood_of_output_is_cut(grade):
    report = grade("linear", "print('x' * 1_000_000)\n" + GOOD_LINEAR)
    assert report.outcome == "output_limit"
    assert report.stdout_truncated
    assert len(report.stdout) <= 64 * 1024


def test_environment_secrets_do_not_reach_student_code(catalog, monkeypatch):
    from grader.grading import grade_submission
    from grader.sandbox import Sandbox

    monkeypatch.setenv("GRADELAB_SECRET_KEY", "do-not-leak-4242")
    with Sandbox() as sandbox:  # started after the secret is set
        report = grade_submission(catalog["linear"], "import os\nprint(sorted(os.environ.items()))\n" + GOOD_LINEAR, sandbox)
    assert report.is_full_score
    assert "HOME" in report.stdout
    assert "do-not-leak-4242" not in report.stdout
