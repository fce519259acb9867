"""The instructor's side: access, gradebook and CSV figures, analytics, deadlines, regrading, roles."""

from __future__ import annotations

import csv
import io
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from gradelab.catalog import sync_catalog
from gradelab.cli import main as gradelab_main
from gradelab.db import db
from gradelab.models import Exercise, LatePolicy, Role, Status, Submission, User, utcnow
from gradelab.queue import grading_queue
from site_helpers import csrf_token, graded, make_app, signed_in_client, submission_id, submit
from sqlalchemy import select

from grader.spec import load_catalog

ROOT = Path(__file__).resolve().parents[2]
SEED = (ROOT / "exercises/linear/solutions/seed.py").read_text()
NO_ZERO_GRAD = (ROOT / "exercises/linear/mistakes/no_zero_grad.py").read_text()  # 45/100, missing_zero_grad
ITEM_LOSS = (ROOT / "exercises/linear/mistakes/item_loss.py").read_text()  # 10/100


@pytest.fixture
def teacher(app):
    return signed_in_client(app, "teacher@example.com", "Teacher", "instructor")


@pytest.fixture
def ada(app):
    return signed_in_client(app, "ada@example.com", "Ada")


@pytest.fixture
def bob(app):
    return signed_in_client(app, "bob@example.com", "Bob")


def graded_submission(app, client, source: str) -> int:
    sid = submission_id(submit(client, "linear", source))
    assert graded(app, sid).status == Status.GRADED
    return sid


def set_exercise(app, slug: str = "linear", **values) -> None:
    with app.app_context():
        exercise = db.session.scalar(select(Exercise).where(Exercise.slug == slug))
        for key, value in values.items():
            setattr(exercise, key, value)
        db.session.commit()


def instructor_urls(app, submission: int) -> list[tuple[str, str]]:
    """Every route of the instructor and admin areas, as (method, url), from the app's own URL map."""
    arguments = {"slug": "linear", "submission_id": submission, "user_id": 1}
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.split(".")[0] in ("instructor", "admin"):
            url = rule.build({name: arguments[name] for name in rule.arguments})[1]
            found += [(method, url) for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return found


def test_every_instructor_and_admin_route_is_403_to_students_and_visitors(app, ada, teacher):
    sid = graded_submission(app, ada, SEED)
    urls = instructor_urls(app, sid)
    assert len(urls) >= 14 and ("POST", "/admin/users/1/role") in urls
    visitor = app.test_client()
    for who, client in (("visitor", visitor), ("student", ada)):
        token = csrf_token(client.get("/login" if who == "visitor" else "/").get_data(as_text=True))
        for method, url in urls:
            response = client.open(url, method=method, data={"csrf_token": token})
            assert response.status_code == 403, (who, method, url, response.status_code)
            assert "You do not have access to this page." in response.get_data(as_text=True)
    admin_only = [(m, u) for m, u in urls if u.startswith("/admin")]
    token = csrf_token(teacher.get("/").get_data(as_text=True))
    assert [teacher.open(u, method=m, data={"csrf_token": token}).status_code for m, u in admin_only] == [403] * len(admin_only)
    assert teacher.get("/instructor/").status_code == 200


def test_gradebook_and_csv_count_best_last_attempts_and_late(app, ada, bob, teacher):
    graded_submission(app, ada, SEED)  # 100
    graded_submission(app, ada, NO_ZERO_GRAD)  # 45: Ada's last, not her best
    graded_submission(app, bob, ITEM_LOSS)  # 10
    set_exercise(app, deadline=utcnow() - timedelta(hours=1), late_policy=LatePolicy.PENALTY, late_penalty=20)
    late = graded_submission(app, bob, SEED)  # 100 late -> 80
    with app.app_context():
        stored = db.session.get(Submission, late)
        assert (stored.late, stored.penalty, stored.score, stored.final_score) == (True, 20, 100, 80)

    page = teacher.get("/instructor/gradebook?sort=total&desc=1").get_data(as_text=True)
    assert page.index('data-email="ada@example.com"') < page.index('data-email="bob@example.com"')  # 100 before 80
    rows = {row["email"]: row for row in csv.DictReader(io.StringIO(teacher.get("/instructor/gradebook.csv").get_data(as_text=True)))}
    assert set(rows) == {"ada@example.com", "bob@example.com"}  # the instructor is not in the gradebook
    ada_row, bob_row = rows["ada@example.com"], rows["bob@example.com"]
    assert (ada_row["linear best"], ada_row["linear last"], ada_row["linear attempts"], ada_row["linear late"]) == ("100", "45", "2", "")
    assert (bob_row["linear best"], bob_row["linear last"], bob_row["linear attempts"], bob_row["linear late"]) == ("80", "80", "2", "yes")
    assert (ada_row["quadratic attempts"], ada_row["quadratic best"], ada_row["total"], bob_row["total"]) == ("0", "", "100", "80")

    filtered = teacher.get("/instructor/gradebook?q=BOB").get_data(as_text=True)
    assert 'data-email="bob@example.com"' in filtered and 'data-email="ada@example.com"' not in filtered


def test_exercise_analytics(app, ada, bob, teacher):
    graded_submission(app, ada, NO_ZERO_GRAD)
    graded_submission(app, ada, NO_ZERO_GRAD)
    graded_submission(app, ada, SEED)  # full score at her 3rd attempt
    graded_submission(app, bob, SEED)  # at his 1st
    signed_in_client(app, "cy@example.com", "Cy")  # never submitted: not counted
    page = teacher.get("/instructor/exercises/linear").get_data(as_text=True)
    assert 'id="stat-submissions">4<' in page and 'id="stat-students">2<' in page
    assert 'id="stat-pass-rate">100%<' in page and 'id="stat-median-attempts">2.0<' in page
    assert "<td><code>missing_zero_grad</code></td><td>2</td>" in page
    assert '"counts": [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]' in page  # both best scores are full


@pytest.mark.grades_nothing
def test_a_refusing_deadline_turns_submissions_away_and_unpublished_exercises_disappear(app, ada, teacher):
    page = teacher.get("/instructor/exercises/linear").get_data(as_text=True)
    form = {"csrf_token": csrf_token(page), "published": "y", "deadline": "2020-01-01T12:00", "late_policy": "refuse", "late_penalty": "0"}
    assert teacher.post("/instructor/exercises/linear/settings", data=form).status_code == 303
    refused = submit(ada, "linear", SEED)
    assert refused.status_code == 403 and "deadline of this exercise has passed" in refused.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(Submission.id)) is None

    form.update(published="", deadline="", late_policy="penalty")
    del form["published"]  # an unchecked box is not sent
    assert teacher.post("/instructor/exercises/linear/settings", data=form).status_code == 303
    assert ada.get("/exercises/linear").status_code == 404
    assert "/exercises/linear" not in ada.get("/").get_data(as_text=True)
    bad = teacher.post("/instructor/exercises/linear/settings", data={**form, "late_penalty": "150"})
    assert bad.status_code == 400


def test_regrading_after_an_exercise_change_adds_results_and_keeps_the_old(tmp_path, pool):
    """The running site grades against the edited folder as soon as the database holds its new version."""
    exercises = tmp_path / "exercises"
    shutil.copytree(ROOT / "exercises", exercises)
    app = make_app(tmp_path, pool, EXERCISES_DIR=str(exercises))
    try:
        ada, teacher = signed_in_client(app, "ada@example.com", "Ada"), signed_in_client(app, "t@example.com", "T", "instructor")
        first, second = graded_submission(app, ada, SEED), graded_submission(app, ada, NO_ZERO_GRAD)
        with app.app_context():
            old_version = db.session.scalar(select(Exercise).where(Exercise.slug == "linear")).current_version.version
        with (exercises / "linear" / "statement.en.md").open("a") as statement:
            statement.write("\nA clarification added after the first submissions.\n")
        with app.app_context():  # what `gradelab prepare` does from another process: the site's own catalog is not told
            assert sync_catalog(db.session, load_catalog(exercises)) == ["linear"]
        page = teacher.get("/instructor/exercises/linear").get_data(as_text=True)
        assert "0 of 2 submissions graded on the current version" in page
        assert teacher.post("/instructor/exercises/linear/regrade", data={"csrf_token": csrf_token(page)}).status_code == 303
        assert grading_queue(app).join(60)
        for sid, score in ((first, 100), (second, 45)):
            with app.app_context():
                stored = db.session.get(Submission, sid)
                versions = [(r.exercise_version, r.score) for r in stored.results]
                new_version = stored.exercise.current_version.version
            assert versions == [(old_version, score), (new_version, score)] and new_version != old_version
        progress = teacher.get("/instructor/exercises/linear/regrade-progress").get_data(as_text=True)
        assert "2 of 2 submissions graded on the current version; 0 waiting" in progress
        detail = teacher.get(f"/instructor/submissions/{first}").get_data(as_text=True)
        assert old_version in detail and new_version in detail and "regrade requested by T" in detail
    finally:
        grading_queue(app).close()


def test_one_submission_is_regraded_and_exported_for_gradescope(app, ada, teacher):
    sid = graded_submission(app, ada, NO_ZERO_GRAD)
    page = teacher.get(f"/instructor/submissions/{sid}").get_data(as_text=True)
    assert "missing_zero_grad" in page and "Ada" in page
    assert teacher.post(f"/instructor/submissions/{sid}/regrade", data={"csrf_token": csrf_token(page)}).status_code == 303
    assert len(graded(app, sid).results) == 2
    exported = teacher.get(f"/instructor/submissions/{sid}/results.json").get_json()
    assert exported["score"] == 45.0 and sum(t["score"] for t in exported["tests"]) == 45.0
    assert sum(t["max_score"] for t in exported["tests"]) == 100.0
    assert {t["status"] for t in exported["tests"]} == {"passed", "failed"}
    assert "[missing_zero_grad]" in exported["output"]


def test_the_submission_browser_filters(app, ada, bob, teacher):
    graded_submission(app, ada, SEED)
    graded_submission(app, bob, NO_ZERO_GRAD)
    only_bob = teacher.get("/instructor/submissions?student=bob").get_data(as_text=True)
    assert "bob@example.com" in only_bob and "ada@example.com" not in only_bob
    assert "(0)" in teacher.get("/instructor/submissions?exercise=quadratic").get_data(as_text=True)
    assert "(2)" in teacher.get("/instructor/submissions?outcome=ok&since=2000-01-01").get_data(as_text=True)
    assert "(0)" in teacher.get("/instructor/submissions?until=2000-01-01").get_data(as_text=True)
    assert teacher.get("/instructor/submissions?since=not-a-date&page=-3").status_code == 200


@pytest.mark.grades_nothing
def test_the_admin_changes_roles_but_keeps_one_admin(app, ada):
    admin = signed_in_client(app, "root@example.com", "Root", "admin")
    with app.app_context():
        ada_id, admin_id = (db.session.scalar(select(User.id).where(User.email == e)) for e in ("ada@example.com", "root@example.com"))
    page = admin.get("/admin/users").get_data(as_text=True)
    token = csrf_token(page)
    admin.post(f"/admin/users/{ada_id}/role", data={"csrf_token": token, f"u{ada_id}-role": "instructor"})
    assert ada.get("/instructor/").status_code == 200
    answer = admin.post(f"/admin/users/{admin_id}/role", data={"csrf_token": token, f"u{admin_id}-role": "student"}, follow_redirects=True)
    assert "at least one admin" in answer.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(User, admin_id).role == Role.ADMIN


def test_users_create_makes_an_instructor_who_can_sign_in(tmp_path):
    result = CliRunner().invoke(
        gradelab_main,
        ["users", "create", "prof@example.com", "--role", "instructor", "--password", "a long password", "--instance", str(tmp_path)],
        env={"GRADELAB_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}", "GRADELAB_INSTANCE_PATH": str(tmp_path)},
    )
    assert result.exit_code == 0, result.output
    assert "prof@example.com: instructor" in result.output
    app = make_app(tmp_path, None, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'db.sqlite'}")
    try:
        client = app.test_client()
        login = client.get("/login").get_data(as_text=True)
        client.post("/login", data={"csrf_token": csrf_token(login), "email": "prof@example.com", "password": "a long password"})
        assert client.get("/instructor/gradebook").status_code == 200
    finally:
        grading_queue(app).close()


def test_a_new_exercise_folder_is_served_and_graded_without_a_restart(tmp_path, pool):
    exercises = tmp_path / "exercises"
    shutil.copytree(ROOT / "exercises", exercises, ignore=shutil.ignore_patterns("nn_linear"))
    app = make_app(tmp_path, pool, EXERCISES_DIR=str(exercises))
    try:
        ada = signed_in_client(app, "ada@example.com", "Ada")
        assert ada.get("/exercises/nn_linear").status_code == 404
        shutil.copytree(ROOT / "exercises" / "nn_linear", exercises / "nn_linear")
        with app.app_context():  # `gradelab prepare`, from another process
            assert sync_catalog(db.session, load_catalog(exercises)) == ["nn_linear"]
        assert "/exercises/nn_linear" in ada.get("/").get_data(as_text=True)
        sid = submission_id(submit(ada, "nn_linear", (ROOT / "exercises/nn_linear/reference.py").read_text()))
        assert graded(app, sid).score == 100
    finally:
        grading_queue(app).close()


@pytest.mark.grades_nothing
@pytest.mark.parametrize("trigger", ["=", "+", "-", "@", "\t", "\r"])
def test_the_gradebook_csv_writes_formula_like_text_as_plain_text(app, teacher, trigger):
    """A name (or email) that a spreadsheet would run as a formula is exported behind a leading quote."""
    name, email = f'{trigger}HYPERLINK("http://evil.example","open")', f"{trigger}x@example.com"
    signed_in_client(app, "x@example.com", "X")
    with app.app_context():
        student = db.session.scalar(select(User).where(User.email == "x@example.com"))
        student.name, student.email = name, email  # as the admin CLI or an old row could hold them
        db.session.commit()
    body = teacher.get("/instructor/gradebook.csv").get_data(as_text=True)
    (row,) = csv.DictReader(io.StringIO(body))
    assert (row["name"], row["email"]) == (f"'{name}", f"'{email}")
    assert row["linear attempts"] == "0" and row["total"] == "0"  # numbers stay numbers
