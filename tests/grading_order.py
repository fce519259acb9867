"""Helpers for the fairness tests: a regrade backlog, what was queued at a moment, and the order of claims."""

from __future__ import annotations

import time
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from site_helpers import csrf_token
from sqlalchemy import select

from gradelab.db import db
from gradelab.models import Exercise, GradeResult, Status, Submission, SubmissionEvent, User

ROOT = Path(__file__).resolve().parent.parent
SEED = (ROOT / "exercises/linear/solutions/seed.py").read_text()


def slow_seed(seconds: float, tag: object = "") -> str:
    """A correct submission that sleeps first: it holds a grading worker for `seconds`."""
    return f"import time\ntime.sleep({seconds})\n# {tag}\n" + SEED


def seed_outdated_submissions(app: Flask, count: int, students: int = 10) -> list[int]:
    """`count` submissions of `linear` from other students, graded on an older version: a regrade's backlog."""
    with app.app_context():
        exercise = db.session.scalar(select(Exercise).where(Exercise.slug == "linear"))
        owners = [User(email=f"old{n}@example.com", name=f"Old {n}", password_hash="-") for n in range(students)]
        rows = []
        for n in range(count):
            row = Submission(
                user=owners[n % students],
                exercise=exercise,
                exercise_version=exercise.current_version,
                source=SEED.encode(),
                status=Status.GRADED,
                score=100,
                max_score=100,
                outcome="ok",
            )
            row.results.append(GradeResult(exercise_version="an older version", score=100, max_score=100, outcome="ok", report={}))
            rows.append(row)
        db.session.add_all(rows)
        db.session.commit()
        return [row.id for row in rows]


def regrade_outdated(teacher: FlaskClient, slug: str = "linear") -> None:
    """The instructor's *Regrade* button of an exercise."""
    page = teacher.get(f"/instructor/exercises/{slug}").get_data(as_text=True)
    assert teacher.post(f"/instructor/exercises/{slug}/regrade", data={"csrf_token": csrf_token(page)}).status_code == 303


def queued_ids(app: Flask) -> set[int]:
    with app.app_context():
        return set(db.session.scalars(select(Submission.id).where(Submission.status == Status.QUEUED)))


def claim_times(app: Flask) -> dict[int, object]:
    """Each submission's latest move to running (its latest claim), by id, from the stored events."""
    with app.app_context():
        events = db.session.execute(
            select(SubmissionEvent.submission_id, SubmissionEvent.created_at)
            .where(SubmissionEvent.status == Status.RUNNING)
            .order_by(SubmissionEvent.created_at, SubmissionEvent.id)
        ).all()
    return {submission_id: at for submission_id, at in events}


def claimed_before(app: Flask, first: int, others: set[int]) -> list[int]:
    """Those of `others` that a worker claimed before `first`: should be none."""
    claims = claim_times(app)
    assert first in claims, f"submission {first} was never claimed"
    return sorted(other for other in others if other in claims and claims[other] < claims[first])


def wait_final(app: Flask, ids: list[int], timeout_s: float = 120) -> dict[int, Submission]:
    """The rows once all of `ids` have a final status (or at the timeout, as they are)."""
    deadline = time.monotonic() + timeout_s
    while True:
        with app.app_context():
            rows = {s.id: s for s in db.session.scalars(select(Submission).where(Submission.id.in_(ids)))}
            if all(row.status.is_final for row in rows.values()) or time.monotonic() > deadline:
                for row in rows.values():
                    row.events, row.results  # noqa: B018 (load before the session closes)
                db.session.expunge_all()
                return rows
        time.sleep(0.1)


def grading_wait_s(row: Submission) -> float:
    """From stored to graded, from the submission's own events."""
    return (row.events[-1].created_at - row.events[0].created_at).total_seconds()


def queued_wait_s(row: Submission) -> float:
    """From stored to its (latest) claim: the time spent waiting for a worker."""
    claimed = [event.created_at for event in row.events if event.status == Status.RUNNING]
    return (claimed[-1] - row.events[0].created_at).total_seconds()
