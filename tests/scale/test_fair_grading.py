"""One student cannot delay everyone, at scale: PostgreSQL, Redis and `gradelab worker` processes, all real."""

from __future__ import annotations

import threading

import pytest
from grading_order import SEED, claimed_before, queued_ids, regrade_outdated, seed_outdated_submissions, slow_seed, wait_final
from site_helpers import signed_in_client, submission_id, submit
from sqlalchemy import func, select

from gradelab.db import db
from gradelab.models import Submission, User
from gradelab.tokens import issue_token


def api_token(app, email: str) -> tuple[int, str]:
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        return user.id, issue_token(db.session, user, "laptop")


def test_concurrent_api_requests_of_one_student_never_pass_the_limit_together(make_site):
    """Twelve requests at once on PostgreSQL: exactly the limit is stored, the others get a JSON 429."""
    site = make_site()  # the default limit, 2; no worker runs, so what is stored stays in flight
    signed_in_client(site, "ada@example.com", "Ada")
    user_id, token = api_token(site, "ada@example.com")
    start = threading.Barrier(12)
    answers: list[tuple[int, dict]] = []

    def send(n: int) -> None:
        client = site.test_client()
        start.wait()
        sent = client.post(
            "/api/v1/exercises/linear/submissions",
            json={"source": SEED + f"# {n}\n", "client_token": f"burst-{n}"},
            headers={"Authorization": f"Bearer {token}"},
        )
        answers.append((sent.status_code, sent.get_json()))

    threads = [threading.Thread(target=send, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(status for status, _ in answers) == [202] * 2 + [429] * 10
    for status, body in answers:
        if status == 429:
            assert body["status"] == 429 and "Wait until one is graded, then submit again." in body["error"]
    with site.app_context():
        assert db.session.scalar(select(func.count(Submission.id)).where(Submission.user_id == user_id)) == 2


@pytest.mark.slow
def test_celery_workers_grade_a_fresh_submission_before_a_backlog_and_a_mass_regrade(make_site, start_worker):
    """Six slow submissions of one student and a 100-submission regrade are queued; Bob's comes first."""
    site = make_site(MAX_SUBMISSIONS_IN_FLIGHT=6)
    worker = start_worker("one", concurrency=1).wait_ready()  # one grader: each claim decides what goes next
    backlog = seed_outdated_submissions(site, 100)
    ada, bob = signed_in_client(site, "ada@example.com", "Ada"), signed_in_client(site, "bob@example.com", "Bob")
    teacher = signed_in_client(site, "t@example.com", "T", "instructor")
    adas = [submission_id(submit(ada, "linear", slow_seed(1, n))) for n in range(6)]
    regrade_outdated(teacher)  # 100 jobs in Redis ahead of Bob's
    bobs = submission_id(submit(bob, "linear", SEED))
    waiting = queued_ids(site) - {bobs}
    assert set(adas[2:]) <= waiting and len(waiting & set(backlog)) >= 99, worker.log.read_text()[-2000:]
    assert wait_final(site, [bobs])[bobs].score == 100
    assert claimed_before(site, bobs, waiting) == []
    rows = wait_final(site, adas)
    assert [rows[sid].score for sid in adas] == [100] * 6
    assert claimed_before(site, adas[-1], set(backlog)) == []  # students' own submissions before the regrades
