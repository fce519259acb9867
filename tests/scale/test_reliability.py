"""No lost submissions: workers killed mid-grade, Redis restarted, PostgreSQL away, all against real services."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from grading_order import wait_final
from live_services import TcpForwarder
from site_helpers import Auth, make_app, submission_id, submit
from sqlalchemy import func, select

from gradelab.db import db
from gradelab.models import GradeResult, Status, Submission
from gradelab.queue import grading_queue

ROOT = Path(__file__).resolve().parents[2]
SEED = (ROOT / "exercises/linear/solutions/seed.py").read_text()
SLOW_SEED = "import time\ntime.sleep(2)\n" + SEED  # long enough to be killed in the middle


def result_counts(app, ids: list[int]) -> dict[int, int]:
    with app.app_context():
        query = select(GradeResult.submission_id, func.count()).where(GradeResult.submission_id.in_(ids)).group_by(GradeResult.submission_id)
        return dict(db.session.execute(query).all())


@pytest.fixture
def student(site):
    client = site.test_client()
    Auth(client).signup()
    return client


@pytest.mark.slow
def test_two_workers_share_the_queue_and_grade_each_submission_once(site, student, start_worker):
    workers = [start_worker("a"), start_worker("b")]
    for worker in workers:
        worker.wait_ready()
    ids = [submission_id(submit(student, "linear", "import time\ntime.sleep(0.3)\n" + SEED)) for _ in range(8)]
    rows = wait_final(site, ids, timeout_s=90)
    assert all(row.status == Status.GRADED and row.score == 100 for row in rows.values())
    assert result_counts(site, ids) == {sid: 1 for sid in ids}
    graders = {event.detail.rsplit(" on ", 1)[1] for row in rows.values() for event in row.events if event.status == Status.RUNNING}
    assert len(graders) == 2, graders  # both workers took part


@pytest.mark.slow
def test_a_worker_killed_mid_grade_loses_nothing(site, student, start_worker):
    first, second = start_worker("first").wait_ready(), start_worker("second").wait_ready()
    sid = submission_id(submit(student, "linear", SLOW_SEED))
    deadline = time.monotonic() + 30
    running = None
    while running is None and time.monotonic() < deadline:
        with site.app_context():
            running = db.session.scalar(select(Submission).where(Submission.id == sid, Submission.status == Status.RUNNING))
            detail = running.events[-1].detail if running else None
        time.sleep(0.05)
    assert running is not None, "no worker started grading"
    victim_pid = int(detail.rsplit(":", 1)[1])
    victim = next(w for w in (first, second) if w.process.pid == victim_pid)
    os.kill(victim_pid, signal.SIGKILL)
    victim.process.wait()
    row = wait_final(site, [sid], timeout_s=90)[sid]
    assert row.status == Status.GRADED and row.score == 100
    assert row.attempts == 2
    assert result_counts(site, [sid]) == {sid: 1}
    details = [event.detail or "" for event in row.events]
    assert any("interrupted; queued again" in d for d in details), details
    survivor = second if victim is first else first
    assert details[-2].endswith(f":{survivor.process.pid}")  # the other worker finished it


@pytest.mark.slow
def test_jobs_waiting_in_a_restarted_redis_are_graded(site, student, redis, start_worker):
    ids = [submission_id(submit(student, "linear", SEED)) for _ in range(4)]  # queued; no worker yet
    redis.stop()  # Redis here keeps nothing on disk: the 4 jobs are gone
    ids.append(submission_id(submit(student, "linear", SEED)))  # sent while Redis is down: stored anyway
    redis.start()
    start_worker("late").wait_ready()
    rows = wait_final(site, ids, timeout_s=90)
    assert all(row.status == Status.GRADED and row.score == 100 for row in rows.values()), {i: r.status for i, r in rows.items()}
    assert result_counts(site, ids) == {sid: 1 for sid in ids}


def test_an_unreachable_postgresql_gives_503_and_recovers(tmp_path, database_url):
    forwarder = TcpForwarder(5432)
    forwarder.start()
    url = database_url.replace(":5432/", f":{forwarder.port}/")
    app = make_app(tmp_path, None, SQLALCHEMY_DATABASE_URI=url, GRADING_BACKEND="celery")
    try:
        client = app.test_client()
        Auth(client).signup()
        assert client.get("/").status_code == 200
        forwarder.cut()
        down = client.get("/")
        assert down.status_code == 503
        assert "cannot reach its database" in down.get_data(as_text=True)
        forwarder.start()
        assert client.get("/").status_code == 200  # the pool reconnects by itself
    finally:
        forwarder.cut()
        grading_queue(app).close()
        with app.app_context():
            db.engine.dispose()


@pytest.mark.slow
def test_every_known_solution_and_mistake_is_stored_on_postgresql(site, student, start_worker):
    """PostgreSQL's JSON is stricter than SQLite's: a diverged run's infinities must still be stored."""
    from grader.spec import load_catalog

    exercise = load_catalog(ROOT / "exercises")["linear"]
    files = exercise.solutions() + exercise.mistakes()
    ids = {submission_id(submit(student, "linear", labelled.read())): labelled for labelled in files}
    start_worker("all").wait_ready()
    rows = wait_final(site, list(ids), timeout_s=180)
    assert {rows[sid].status for sid in ids} == {Status.GRADED}, {ids[sid].path.name: rows[sid].events[-1].detail for sid in ids}
    assert result_counts(site, list(ids)) == {sid: 1 for sid in ids}
    for sid, labelled in ids.items():
        report = rows[sid].results[0].report
        if labelled.label is None:
            assert report["score"] == report["max_score"], labelled.path.name
        else:
            assert labelled.label in {d["code"] for d in report["diagnoses"]} | {report["outcome"]}, labelled.path.name
