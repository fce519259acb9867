"""Nothing of a hidden case's inputs reaches the student: two hidden inputs, the same report.

Each hostile submission reads the hidden case from the harness's own frames (train) or from
its arguments (calls) and tries to publish a number derived from it through one channel of the
report: an exception's class name, line, function, errno, message or step, a returned object's
type name, a shape, a step factor, a loss factor, the exit code or signal of the child, the
time it takes. It is graded in the real sandbox against two versions of the exercise whose
hidden cases differ; what the student sees (the report's JSON and the text the CLI prints) must
be the same for both. After each, another student's correct file still scores 100.
"""

from __future__ import annotations

import re
import shutil
import textwrap
from pathlib import Path
from types import SimpleNamespace

import msgspec
import pytest
from markupsafe import escape
from submissions import GOOD_LINEAR

from grader import registry
from grader.disclosure import USER_DEFINED_EXCEPTION, WITHHELD, Hidden, disclosed
from grader.grading import grade_submission
from grader.render import text_report
from grader.report import Diagnosis
from grader.spec import load_exercise
from grader.trace import Error

EXERCISES = Path(__file__).resolve().parents[2] / "exercises"

# Reads the case the harness is running from its frames; `leak()` is a number that differs
# between the two versions of the first hidden case (its lr times 1000: 20 or 25), None elsewhere.
SPY = textwrap.dedent(
    """\
    import os, signal, sys, time
    import torch

    def leak():
        frame = sys._getframe(1)
        while frame is not None and type(frame.f_locals.get("case")).__name__ != "Case":
            frame = frame.f_back
        case = frame.f_locals["case"] if frame is not None else None
        return round(case.lr * 1000) if case and case.hidden and case.lr < 0.03 else None

    def named(v, *bases):
        return type(f"Leak{v}", bases, {})

    count = {"steps": 0, "slept": False}
    w = torch.tensor([1.0], requires_grad=True)
    """
)

# A mistake in every case, so that what the hidden cases show is not folded into `hardcoded_output`.
ASCENT = "    w.data = w.data + lr * w.grad.data\n    w.grad.data.zero_()\n"
RIGHT = {
    "forward": "    return x * w\n",
    "loss": "    return (forward(x) - y) ** 2\n",
    "update": "    w.data = w.data - lr * w.grad.data\n    w.grad.data.zero_()\n",
}

# channel -> {function: lines run first in it, with v = leak() known and not None}
CHANNELS = {
    "exception-class": {"loss": "raise named(v, Exception)('boom')"},
    "line-function-text": {"loss": "g = {}\nexec(compile('\\n' * v + f'def f{v}():\\n    raise ValueError(1)\\n', 'submission.py', 'exec'), g)\ng[f'f{v}']()"},
    "errno": {"loss": "raise OSError(v + 100, 'no such thing')"},  # both plain OSError
    "message": {"loss": "raise ValueError(f'hidden lr is {v}')"},
    "step": {"update": "count['steps'] += 1\nif count['steps'] == v:\n    raise ValueError('late')"},
    "phase": {"loss": "if v == 20:\n    raise ValueError('in loss')", "update": "if v == 25:\n    raise ValueError('in update')"},
    "returned-type": {"forward": "return named(v)()"},
    "loss-type": {"loss": "return named(v)()"},
    "shape": {"update": "global w\nw = torch.zeros(v, requires_grad=True)\nreturn"},
    "step-factor": {"update": "w.data = w.data - v * lr * w.grad.data\nw.grad.data.zero_()\nreturn"},
    "loss-factor": {"loss": "return v * (forward(x) - y) ** 2"},
    "exit-code": {"loss": "os._exit(v)"},
    "signal": {"loss": "os.kill(os.getpid(), signal.SIGUSR1 if v == 20 else signal.SIGUSR2)"},
}


# Channels that a hidden case only opens when the visible case fails too.
WITH_A_VISIBLE_SLIP = ("message", "step", "returned-type", "loss-type", "shape", "loss-factor")


def spy_source(attacks: dict[str, str], slip: bool = False) -> str:
    """The correct file (or one that ascends, with `slip`), with each attack run first in its
    function whenever the hidden input is known."""
    parts = [SPY]
    for name, args in (("forward", "x"), ("loss", "x, y"), ("update", "lr")):
        body = ASCENT if slip and name == "update" else RIGHT[name]
        if name in attacks:
            body = "    v = leak()\n    if v is not None:\n" + textwrap.indent(attacks[name], " " * 8) + "\n" + body
        parts.append(f"\ndef {name}({args}):\n{body}")
    return "".join(parts)


@pytest.fixture(scope="module")
def versions(tmp_path_factory):
    """Two copies of `linear` and of `vector_backward` whose first hidden case differs."""
    root = tmp_path_factory.mktemp("hidden-versions")
    changes = {"linear": ("lr = 0.02\n", "lr = 0.025\n"), "vector_backward": ("grad_with_ones = [3]", "grad_with_ones = [5]")}
    made = {}
    for slug, (old, new) in changes.items():
        pair = []
        for label, text in (("a", old), ("b", new)):
            folder = root / label / slug
            shutil.copytree(EXERCISES / slug, folder)
            toml = folder / "exercise.toml"
            content = toml.read_text(encoding="utf-8")
            assert content.count(old) == 1
            toml.write_text(content.replace(old, text), encoding="utf-8")
            pair.append(load_exercise(folder))
        made[slug] = pair
    return made


@pytest.fixture(scope="module")
def site(tmp_path_factory, pool):
    """The site's result block, rendered for a report (the page polls it; the API serves the JSON)."""
    from flask import render_template
    from gradelab.queue import grading_queue
    from site_helpers import make_app

    app = make_app(tmp_path_factory.mktemp("site"), pool)

    def render(report) -> str:
        result = SimpleNamespace(report=report.to_json(), score=report.score, max_score=report.max_score)
        status = SimpleNamespace(is_final=True, value="graded")
        submission = SimpleNamespace(id=1, latest_result=result, status=status, events=[])
        with app.test_request_context():
            return render_template("student/_result.html", submission=submission, poll_ms=1000)

    yield render
    grading_queue(app).close()


@pytest.fixture
def seen(site):
    def seen(report) -> tuple[dict, str, str]:
        """What the student sees: the report as the API serves it, the CLI's text, the site's page."""
        shown = report.to_json()
        shown.pop("duration_ms")
        shown.pop("exercise_version")  # the two versions of the exercise differ, by construction
        text = re.sub(r"graded in \d+ ms", "graded in _ ms", text_report(report))
        return shown, text, site(report)

    return seen


@pytest.fixture
def still_grades(catalog, pool):
    def check(slug: str, source: str) -> None:
        report = grade_submission(catalog[slug], source, pool)
        assert report.is_full_score, report.message

    return check


TRAIN_ATTACKS = [(channel, False) for channel in CHANNELS] + [(channel, True) for channel in WITH_A_VISIBLE_SLIP]


@pytest.mark.parametrize(("channel", "slip"), TRAIN_ATTACKS, ids=[f"{c}{'+visible-slip' if s else ''}" for c, s in TRAIN_ATTACKS])
def test_a_hidden_input_reaches_no_channel_of_a_train_report(versions, pool, still_grades, seen, channel, slip):
    source = spy_source(CHANNELS[channel], slip)
    first, second = (grade_submission(exercise, source, pool) for exercise in versions["linear"])
    assert not first.is_full_score and not second.is_full_score  # the attack ran in the hidden case
    assert seen(first) == seen(second)
    assert escape(first.message) in seen(first)[2]  # the page is the report's
    assert "Leak" not in str(seen(first))
    assert all(d.step is None for d in first.diagnoses if d.hidden)
    still_grades("linear", GOOD_LINEAR)


def test_a_hidden_case_takes_no_time_that_is_shown(versions, pool, still_grades, seen):
    """duration_ms counts the visible part only: a hidden case that sleeps 5 or 6.25 s is not in it."""
    source = spy_source({"forward": "if not count['slept']:\n    count['slept'] = True\n    time.sleep(v / 4)"})
    pool.wait_ready()  # a sandbox's warm-up is no part of what is measured here
    first, second = (grade_submission(exercise, source, pool) for exercise in versions["linear"])
    assert first.is_full_score and second.is_full_score, (first.message, second.message)
    assert first.duration_ms < 5000 and second.duration_ms < 5000, (first.duration_ms, second.duration_ms)
    assert seen(first) == seen(second)
    still_grades("linear", GOOD_LINEAR)


CALLS_ATTACKS = {
    "exception-class": "raise type(f'Leak{n}', (Exception,), {})('boom')",
    "line-function-text": "g = {}\nexec(compile('\\n' * n + f'def f{n}():\\n    raise OSError(n, \"x\")\\n', 'submission.py', 'exec'), g)\ng[f'f{n}']()",
    "returned-type": "return type(f'Leak{n}', (), {})()",
    "exit-code": "import os\nos._exit(n)",
}


def calls_spy(attack: str) -> tuple[str, str]:
    """The reference of `vector_backward` and a copy that runs `attack` first in the hidden case's grad_with_ones(n)."""
    reference = (EXERCISES / "vector_backward" / "reference.py").read_text(encoding="utf-8")
    hook = "    if n in (3, 5):\n" + textwrap.indent(attack, " " * 8) + "\n"
    source = re.sub(r"(def grad_with_ones\(n\):\n)", lambda m: m.group(1) + hook, reference)
    assert source != reference
    return reference, source


@pytest.mark.parametrize("attack", list(CALLS_ATTACKS), ids=list(CALLS_ATTACKS))
def test_a_hidden_input_reaches_no_channel_of_a_calls_report(versions, pool, still_grades, seen, attack):
    reference, source = calls_spy(CALLS_ATTACKS[attack])
    first, second = (grade_submission(exercise, source, pool) for exercise in versions["vector_backward"])
    assert not first.is_full_score
    assert seen(first) == seen(second)
    still_grades("vector_backward", reference)


def test_a_hidden_calls_case_takes_no_time_that_is_shown(versions, pool, still_grades, seen):
    reference, source = calls_spy("import time\ntime.sleep(n)")  # 3 or 5 s
    pool.wait_ready()  # a sandbox's warm-up is no part of what is measured here
    first, second = (grade_submission(exercise, source, pool) for exercise in versions["vector_backward"])
    assert first.is_full_score and second.is_full_score, (first.message, second.message)
    assert first.duration_ms < 3000 and second.duration_ms < 3000, (first.duration_ms, second.duration_ms)
    assert seen(first) == seen(second)
    still_grades("vector_backward", reference)


def test_the_rule_keeps_only_a_fixed_vocabulary():
    hidden = Hidden(
        error=Error(phase="loss", step=7, type="Leak20", message="lr 0.02", line=22, function="f20", text="x = 20", errno=20),
        diagnoses=(Diagnosis("wrong_learning_rate", "The step of w is 20 times", step=3, parameter="w", hidden=True),
                   Diagnosis("made_up_20", "anything", parameter="Leak20", hidden=True)),
        exit_code=20,
    )  # fmt: skip
    shown = disclosed(hidden, names=frozenset({"w"}), messages=registry.driver("train").hidden_messages)
    assert shown.error == {"case": "hidden", "phase": None, "step": None, "type": USER_DEFINED_EXCEPTION, "message": WITHHELD,
                           "line": None, "function": None, "text": None, "errno": None}  # fmt: skip
    assert disclosed(Hidden(error=msgspec.structs.replace(hidden.error, type="ZeroDivisionError")), frozenset()).error["type"] == "ZeroDivisionError"
    assert [d.code for d in shown.diagnoses] == ["wrong_learning_rate", "runtime_error"]
    assert all(d.step is None and d.hidden and "20" not in d.message for d in shown.diagnoses)
    assert [d.parameter for d in shown.diagnoses] == ["w", None]
    assert shown.exit_code is None


def test_every_diagnosis_has_a_fixed_message_for_hidden_cases():
    from grader.drivers.calls import judge
    from grader.drivers.train import diagnose

    kinds = registry.drivers()
    assert set(diagnose.CODES) <= set(kinds["train"].hidden_messages)
    assert set(judge.CODES) | {"runtime_error"} <= set(kinds["calls"].hidden_messages)
    assert not [message for kind in kinds.values() for message in kind.hidden_messages.values() if "{" in message]
