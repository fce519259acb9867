"""One student cannot delay everyone (in-process backend, SQLite, the real sandbox pool).

A student has at most MAX_SUBMISSIONS_IN_FLIGHT submissions queued or running; the form refuses the
next with a 429 and keeps the code; workers take students' submissions round-robin and an
instructor's regrades after them.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from markupsafe import escape
from grading_order import (
    SEED,
    claimed_before,
    queued_ids,
    regrade_outdated,
    seed_outdated_submissions,
    slow_seed,
    wait_final,
)
from site_helpers import client_token, csrf_token, make_app, signed_in_client, submission_id, submit
from sqlalchemy import func, select

from gradelab.db import db
from gradelab.models import Status, Submission
from gradelab.queue import grading_queue


@pytest.fixture
def one_grader(tmp_path: Path, pool) -> Iterator:
    """A site with one grading thread: every claim is a choice of what goes next."""
    made = []

    def make(**config):
        app = make_app(tmp_path, pool, GRADING_WORKERS=1, **config)
        made.append(app)
        return app

    yield make
    for app in made:
        grading_queue(app).close()


def own_count(app, email: str) -> int:
    from gradelab.models import User

    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        return db.session.scalar(select(func.count(Submission.id)).where(Submission.user_id == user.id))


def running(app) -> list[Submission]:
    with app.app_context():
        rows = list(db.session.scalars(select(Submission).where(Submission.status == Status.RUNNING)))
        db.session.expunge_all()
        return rows


def test_a_third_submission_in_flight_gets_429_keeps_the_code_and_loses_nothing(one_grader):
    app = one_grader()
    assert app.config["MAX_SUBMISSIONS_IN_FLIGHT"] == 2  # the default
    ada, bob = signed_in_client(app, "ada@example.com", "Ada"), signed_in_client(app, "bob@example.com", "Bob")
    accepted = [submission_id(submit(ada, "linear", slow_seed(1.5, n))) for n in range(2)]
    third = slow_seed(0, "the third")
    page = ada.get("/exercises/linear").get_data(as_text=True)
    form = {"csrf_token": csrf_token(page), "client_token": client_token(page), "source": third}
    refused = ada.post("/exercises/linear/submit", data=form)
    text = refused.get_data(as_text=True)
    assert refused.status_code == 429
    assert "You already have 2 submissions waiting for their grades. Wait until one is graded, then submit again." in text
    assert str(escape(third)) in text  # the editor still holds the code
    in_chinese = ada.post("/exercises/linear/submit", data=form, headers={"Accept-Language": "zh"})
    assert in_chinese.status_code == 429 and "你已有 2 个提交正在等待评分" in in_chinese.get_data(as_text=True)
    assert own_count(app, "ada@example.com") == 2  # the refused ones were not stored
    other = submission_id(submit(bob, "linear", SEED))  # another student is not held up by Ada's limit
    rows = wait_final(app, [*accepted, other])
    assert [rows[sid].score for sid in [*accepted, other]] == [100, 100, 100]  # what was accepted is graded
    again = ada.post("/exercises/linear/submit", data=form)  # the same form, sent again once one is graded
    assert wait_final(app, [submission_id(again)])[submission_id(again)].score == 100


def test_concurrent_submissions_of_one_student_never_pass_the_limit_together(one_grader):
    """The embedded default (SQLite, threads): twelve requests at once, exactly the limit stored."""
    app = one_grader()
    ada = signed_in_client(app, "ada@example.com", "Ada")
    forms = []
    for n in range(12):
        page = ada.get("/exercises/linear").get_data(as_text=True)
        forms.append({"csrf_token": csrf_token(page), "client_token": client_token(page), "source": slow_seed(2, n)})
    start = threading.Barrier(len(forms))
    statuses: list[int] = []

    def send(form: dict[str, str]) -> None:
        client = app.test_client()
        with ada.session_transaction() as signed_in, client.session_transaction() as session:
            session.update(signed_in)
        start.wait()
        statuses.append(client.post("/exercises/linear/submit", data=form).status_code)

    threads = [threading.Thread(target=send, args=(form,)) for form in forms]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [303] * 2 + [429] * 10
    assert own_count(app, "ada@example.com") == 2


def test_regrades_do_not_count_against_the_students_limit(one_grader):
    app = one_grader()
    ada, teacher = signed_in_client(app, "ada@example.com", "Ada"), signed_in_client(app, "t@example.com", "T", "instructor")
    first, second = (submission_id(submit(ada, "linear", slow_seed(1, n))) for n in range(2))
    wait_final(app, [first, second])
    for sid in (first, second):
        page = teacher.get(f"/instructor/submissions/{sid}").get_data(as_text=True)
        assert teacher.post(f"/instructor/submissions/{sid}/regrade", data={"csrf_token": csrf_token(page)}).status_code == 303
    assert queued_ids(app) | {s.id for s in running(app)} >= {first, second}  # both regrades in flight
    fresh = submission_id(submit(ada, "linear", SEED))
    rows = wait_final(app, [first, second, fresh])
    assert [rows[sid].score for sid in (first, second, fresh)] == [100, 100, 100]
    assert [len(rows[sid].results) for sid in (first, second, fresh)] == [2, 2, 1]


def test_a_fresh_submission_goes_before_another_students_backlog_and_a_mass_regrade(one_grader):
    """Six slow submissions of one student (the issue's case) and a 100-submission regrade wait behind Bob's."""
    app = one_grader(MAX_SUBMISSIONS_IN_FLIGHT=6)
    backlog = seed_outdated_submissions(app, 100)
    ada, bob = signed_in_client(app, "ada@example.com", "Ada"), signed_in_client(app, "bob@example.com", "Bob")
    teacher = signed_in_client(app, "t@example.com", "T", "instructor")
    adas = [submission_id(submit(ada, "linear", slow_seed(1, n))) for n in range(6)]
    regrade_outdated(teacher)
    bobs = submission_id(submit(bob, "linear", SEED))
    waiting = queued_ids(app) - {bobs}  # queued when Bob's was stored (or claimed since: then after Bob's)
    assert set(adas[2:]) <= waiting and len(waiting & set(backlog)) >= 99  # the backlog was really there
    assert wait_final(app, [bobs])[bobs].score == 100
    assert claimed_before(app, bobs, waiting) == []
    rows = wait_final(app, adas)
    assert [rows[sid].score for sid in adas] == [100] * 6
    assert claimed_before(app, adas[-1], set(backlog)) == []  # students' own submissions before the regrades

