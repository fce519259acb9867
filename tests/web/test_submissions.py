"""Submitting code: stored first, graded in the sandbox pool, every status change recorded."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from fakes import FakeRunner
from site_helpers import client_token, csrf_token, graded, make_app, signed_in_client, stored_submission, submission_id, submit
from sqlalchemy import func, select, update
from werkzeug.test import EnvironBuilder

from gradelab.db import db
from gradelab.models import GradeResult, Status, Submission, utcnow
from gradelab.claims import Leases, requeue_expired

ROOT = Path(__file__).resolve().parents[2]
SEED = (ROOT / "exercises/linear/solutions/seed.py").read_text()
NO_ZERO_GRAD = (ROOT / "exercises/linear/mistakes/no_zero_grad.py").read_text()
HUGE_STEP = (ROOT / "exercises/linear/mistakes/huge_step.py").read_text()  # its parameters overflow to inf


@pytest.fixture
def student(auth):
    auth.signup()
    return auth


def submission_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Submission.id)))


def test_exercise_list_shows_each_exercise_with_the_students_progress(app, client, student):
    page = client.get("/").get_data(as_text=True)
    for title in ("Linear model", "linear", "quadratic", "matrix_mse"):
        assert title in page
    graded(app, submission_id(submit(client, "linear", SEED)))
    page = client.get("/").get_data(as_text=True)
    assert "100/100" in page and "solved" in page


def test_exercise_page_has_the_statement_starter_and_editor(client, student):
    page = client.get("/exercises/linear").get_data(as_text=True)
    assert '<span class="math inline">\\hat y = x \\cdot w</span>' in page  # math left for KaTeX
    assert "def forward(x):" in page  # the starter, in the textarea
    assert "/vendor/ace-builds/ace.js" in page and "/vendor/katex/katex.min.js" in page


def test_a_correct_submission_is_graded_full_marks_with_its_history(app, client, student):
    sid = submission_id(submit(client, "linear", SEED))
    done = graded(app, sid)
    assert done.status == Status.GRADED and done.score == done.max_score == 100
    assert [e.status for e in done.events] == [Status.QUEUED, Status.RUNNING, Status.GRADED]
    times = [e.created_at for e in done.events]
    assert times == sorted(times)
    report = done.results[-1].report
    assert report["outcome"] == "ok" and report["series"]["student"]["loss"]
    page = client.get(f"/submissions/{sid}").get_data(as_text=True)
    assert 'id="score">100 / 100' in page and "loss-chart" in page and "series-data" in page
    fragment = client.get(f"/submissions/{sid}/result").get_data(as_text=True)
    assert 'id="score">100 / 100' in fragment and "hx-get" not in fragment  # final: the page stops asking
    assert f"/submissions/{sid}" in client.get("/exercises/linear/submissions").get_data(as_text=True)


def test_a_buggy_submission_shows_its_diagnosis_and_first_divergence(app, client, student):
    sid = submission_id(submit(client, "linear", NO_ZERO_GRAD))
    done = graded(app, sid)
    assert done.status == Status.GRADED and done.score < 100
    page = client.get(f"/submissions/{sid}").get_data(as_text=True)
    assert "missing_zero_grad" in page and "The gradient of w keeps growing" in page
    divergence = page.split('id="first-divergence"', 1)[1].split("</p>", 1)[0]
    assert "step 2" in divergence and "-7.840000152587891" in divergence and "-9.84000015258789" in divergence


def test_the_submission_is_stored_before_it_is_graded(app, client, student, monkeypatch):
    from gradelab.queue import InProcessQueue

    seen = []
    monkeypatch.setattr(InProcessQueue, "enqueue", lambda self, sid: seen.append((sid, submission_count(app))))
    sid = submission_id(submit(client, "linear", SEED))
    assert seen == [(sid, 1)]  # committed when the queue heard of it
    page = client.get(f"/submissions/{sid}/result").get_data(as_text=True)
    assert "queued" in page and f'hx-get="/submissions/{sid}/result" hx-trigger="load delay:100ms"' in page  # asks again soon


def test_unfinished_submissions_are_queued_again_after_a_restart(app, client, student, monkeypatch):
    from gradelab.queue import InProcessQueue, grading_queue

    original = InProcessQueue.enqueue
    monkeypatch.setattr(InProcessQueue, "enqueue", lambda self, sid: None)  # the server stops before grading
    sid = submission_id(submit(client, "linear", SEED))
    monkeypatch.setattr(InProcessQueue, "enqueue", original)
    assert grading_queue(app).requeue_unfinished() == [sid]
    assert graded(app, sid).score == 100


def test_a_diverged_run_is_stored_as_strict_json_and_drawn(app, client, student):
    sid = submission_id(submit(client, "linear", HUGE_STEP))
    done = graded(app, sid)
    assert done.status == Status.GRADED and done.score < 100
    report = done.results[0].report
    json.dumps(report, allow_nan=False)  # PostgreSQL's JSON type refuses NaN and Infinity
    assert "Infinity" in json.dumps(report["series"])
    assert client.get(f"/submissions/{sid}").status_code == 200


def test_a_result_the_database_refuses_ends_as_an_error_with_a_message(app, client, student, monkeypatch):
    from grader.report import GradeReport

    to_json = GradeReport.to_json
    monkeypatch.setattr(GradeReport, "to_json", lambda self: {**to_json(self), "stdout": object()})  # not JSON
    sid = submission_id(submit(client, "linear", SEED))
    done = graded(app, sid)
    assert done.status == Status.ERROR and done.results == []
    assert "could not store this result" in done.events[-1].detail
    assert "could not store this result" in client.get(f"/submissions/{sid}/result").get_data(as_text=True)


def leave_running(app, sid: int, attempts: int) -> None:
    """As a grading that died leaves its row: running, its lease over."""
    with app.app_context():
        expired = {"status": Status.RUNNING, "attempts": attempts, "lease_until": utcnow() - timedelta(seconds=1)}
        db.session.execute(update(Submission).where(Submission.id == sid).values(**expired))
        db.session.commit()


def test_a_grading_that_died_is_queued_again_until_its_attempts_run_out(app, client, student, monkeypatch):
    from gradelab.queue import InProcessQueue

    monkeypatch.setattr(InProcessQueue, "enqueue", lambda self, sid: None)  # nothing grades: the test plays the workers
    first, second = (submission_id(submit(client, "linear", SEED + f"\n# {n}")) for n in range(2))
    leave_running(app, first, attempts=1)
    leave_running(app, second, attempts=app.config["GRADING_MAX_ATTEMPTS"])
    with app.app_context():
        assert requeue_expired(db.session, Leases.from_config(app.config)) == [first]
    assert stored_submission(app, first).status == Status.QUEUED
    given_up = stored_submission(app, second)
    assert given_up.status == Status.ERROR and "grading stopped 3 times" in given_up.events[-1].detail


def test_empty_code_is_refused_with_a_message(app, client, student):
    for source in ("", "   \n\t\n"):
        response = submit(client, "linear", source)
        assert response.status_code == 400
        assert "Your submission is empty" in response.get_data(as_text=True)
    assert submission_count(app) == 0


def test_code_over_the_exercise_limit_gets_413_with_a_message(app, client, student):
    response = submit(client, "linear", SEED + "#" * 300_000)
    assert response.status_code == 413
    assert "this exercise accepts at most 256 KiB" in response.get_data(as_text=True)
    page = client.get("/exercises/linear").get_data(as_text=True)
    form = {"csrf_token": csrf_token(page), "client_token": client_token(page), "source": "x = 1\n" * 4_000_000}
    builder = EnvironBuilder(path="/exercises/linear/submit", method="POST", data=form, content_type="multipart/form-data")
    environ = builder.get_environ()
    try:  # 24 MB: refused before the form is read; the test client's spool file is closed by hand
        huge = client.open(environ)
    finally:
        environ["wsgi.input"].close()
    assert huge.status_code == 413 and "too large" in huge.get_data(as_text=True)
    assert submission_count(app) == 0


def test_a_double_submit_makes_one_submission(app, client, student):
    page = client.get("/exercises/linear").get_data(as_text=True)
    form = {"csrf_token": csrf_token(page), "client_token": client_token(page), "source": SEED}
    first = client.post("/exercises/linear/submit", data=form)
    second = client.post("/exercises/linear/submit", data=form)
    assert first.headers["Location"] == second.headers["Location"]
    graded(app, submission_id(first))
    assert submission_count(app) == 1


def test_a_form_sent_again_with_other_code_is_a_409_that_keeps_the_code(app, client, student):
    page = client.get("/exercises/linear").get_data(as_text=True)
    form = {"csrf_token": csrf_token(page), "client_token": client_token(page), "source": SEED}
    first = submission_id(client.post("/exercises/linear/submit", data=form))
    edited = SEED + "# edited after going back in the browser\n"
    conflict = client.post("/exercises/linear/submit", data={**form, "source": edited})
    text = conflict.get_data(as_text=True)
    assert conflict.status_code == 409
    assert f"This form was already sent as submission #{first}, with other code; nothing new was stored." in text
    assert "edited after going back in the browser" in text  # the edited code is still in the editor
    assert submission_count(app) == 1
    fresh_token = client_token(text)
    assert fresh_token != form["client_token"]  # the page's next click makes a new submission
    second = submission_id(client.post("/exercises/linear/submit", data={**form, "client_token": fresh_token, "source": edited}))
    assert second != first and graded(app, second).score == 100
    assert submission_id(client.post("/exercises/linear/submit", data=form)) == first  # the same form and code: the same one


def test_a_non_utf8_upload_is_kept_as_sent_and_graded_with_a_message(app, client, student):
    raw = SEED.encode() + b"\n# caf\xe9 \xff\xfe\n"
    sid = submission_id(submit(client, "linear", upload=raw))
    done = graded(app, sid)
    assert done.status == Status.GRADED and done.outcome == "syntax_error"
    with app.app_context():
        assert db.session.get(Submission, sid).source == raw  # byte for byte
    page = client.get(f"/submissions/{sid}").get_data(as_text=True)
    assert "UTF-8" in page


def test_an_uploaded_file_is_graded(app, client, student):
    sid = submission_id(submit(client, "linear", upload=SEED.encode()))
    assert graded(app, sid).score == 100


def test_an_uploaded_notebook_is_graded_with_its_note(app, client, student):
    import nbformat

    book = nbformat.v4.new_notebook()
    book.cells = [nbformat.v4.new_code_cell("%matplotlib inline\n" + SEED)]
    sid = submission_id(submit(client, "linear", upload=nbformat.writes(book).encode()))
    done = graded(app, sid)
    assert done.score == 100
    with app.app_context():
        report = db.session.scalars(select(GradeResult.report).where(GradeResult.submission_id == sid)).one()
    assert report["notes"] == ["Skipped 1 IPython line(s), which are not Python: `%matplotlib inline` (cell 1)."]
    assert "Skipped 1 IPython line(s)" in client.get(f"/submissions/{sid}").get_data(as_text=True)
    page = client.get("/exercises/linear").get_data(as_text=True)
    assert 'accept=".py,.ipynb' in page


def test_an_unknown_exercise_is_a_404_page(client, student):
    for url in ("/exercises/nope", "/exercises/nope/submissions", "/submissions/999999"):
        response = client.get(url)
        assert response.status_code == 404 and "There is no such page" in response.get_data(as_text=True)
    response = client.post("/exercises/nope/submit", data={})
    assert response.status_code in (400, 404)


def test_another_students_submission_is_a_404(app, client, auth):
    auth.signup(email="owner@example.com")
    sid = submission_id(submit(client, "linear", SEED))
    graded(app, sid)
    auth.logout()
    auth.signup(email="other@example.com")
    for url in (f"/submissions/{sid}", f"/submissions/{sid}/result", f"/exercises/linear?from={sid}"):
        assert client.get(url).status_code == 404


def test_student_output_and_messages_are_escaped(app, client, student):
    hostile = SEED + '\nprint("<script>alert(1)</script><img src=x onerror=alert(2)>")\n'
    sid = submission_id(submit(client, "linear", hostile))
    graded(app, sid)
    page = client.get(f"/submissions/{sid}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    raising = SEED + '\nraise ValueError("</script><script>alert(3)</script>")\n'
    sid = submission_id(submit(client, "linear", raising))
    assert graded(app, sid).outcome == "crashed"
    page = client.get(f"/submissions/{sid}").get_data(as_text=True)
    assert "<script>alert(3)</script>" not in page and "&lt;/script&gt;&lt;script&gt;alert(3)" in page


def test_a_form_without_its_csrf_token_is_refused(app, client, student):
    page = client.get("/exercises/linear").get_data(as_text=True)
    response = client.post("/exercises/linear/submit", data={"client_token": client_token(page), "source": SEED})
    assert response.status_code == 400
    assert "The form expired or was not sent by this site" in response.get_data(as_text=True)
    assert submission_count(app) == 0


def test_signed_out_visitors_are_sent_to_sign_in(client):
    for url in ("/", "/exercises/linear", "/submissions/1"):
        response = client.get(url)
        assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_a_site_on_a_fake_runner_grades_with_it_and_nothing_else(tmp_path, catalog, pool):
    """What the `grades_nothing` tests rely on: the Runner given to the site is the only thing that runs code."""
    from gradelab.queue import grading_queue
    from grader.reference import reference_traces

    reference_traces(catalog["linear"], pool)  # cached: the fake is asked for the submission's run alone
    fake = FakeRunner()
    app = make_app(tmp_path, fake)
    try:
        done = graded(app, submission_id(submit(signed_in_client(app, "ada@example.com", "Ada"), "linear", SEED)))
    finally:
        grading_queue(app).close()
    assert len(fake.asked) == 1 and fake.asked[0][0].source == SEED
    assert done.status == Status.GRADED and done.outcome == "internal_error"  # the grader's fault, not the student's
