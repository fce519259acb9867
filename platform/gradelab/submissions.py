"""Taking in a submission, from the web form or the API: its checks, the late policy, storing, queueing.

Also the instructor's regrade, which sends stored submissions through the same queue again.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from .db import db
from .models import Exercise, LatePolicy, Status, Submission, SubmissionEvent, User, utcnow
from .queue import grading_queue
from .worker import Leases

# How soon a submission page asks again, by the submission's age: often while a grade is likely
# to land (most take a few hundred ms), then less, so a long queue costs the site little.
POLL_MS_BY_AGE_S = ((3, 100), (15, 500), (float("inf"), 2000))


class Refused(Exception):
    """A submission the site will not take, with the message and HTTP status to answer."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.message, self.status = message, status


def as_utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; every time this site stores is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def poll_ms(submission: Submission) -> int:
    age_s = (datetime.now(UTC) - as_utc(submission.created_at)).total_seconds()
    return next(poll_ms for up_to_s, poll_ms in POLL_MS_BY_AGE_S if age_s < up_to_s)


def check_source(exercise: Exercise, source: bytes) -> None:
    if not source.strip():
        raise Refused(_("Your submission is empty: write your code in the editor, then submit."), 400)
    limit = exercise.current_version.max_source_bytes
    if len(source) > limit:
        size_kib, limit_kib = len(source) // 1024, limit // 1024
        message = _("Your code is %(size)s KiB; this exercise accepts at most %(limit)s KiB.", size=size_kib, limit=limit_kib)
        raise Refused(message, 413)


def late_penalty(exercise: Exercise, now: datetime) -> int | None:
    """None when on time; else the penalty in percent, or Refused under a refuse policy."""
    if exercise.deadline is None or now <= as_utc(exercise.deadline):
        return None
    if exercise.late_policy == LatePolicy.REFUSE:
        raise Refused(_("The deadline of this exercise has passed: it no longer accepts submissions."), 403)
    return exercise.late_penalty


def submission_with_token(user: User, token: str) -> Submission | None:
    return db.session.scalar(select(Submission).where(Submission.user_id == user.id, Submission.client_token == token))


def store_submission(user: User, exercise: Exercise, source: bytes, token: str | None) -> Submission:
    """Commit the row, then queue its id: a queue that fails cannot lose a stored submission.

    Raises Refused for empty or oversize code, or after a deadline that refuses.
    """
    check_source(exercise, source)
    penalty = late_penalty(exercise, utcnow())
    stored = Submission(
        user=user,
        exercise=exercise,
        exercise_version=exercise.current_version,
        source=source,
        client_token=token,
        late=penalty is not None,
        penalty=penalty or 0,
        lease_until=Leases.from_config(current_app.config).until(),
    )
    db.session.add(stored)
    db.session.add(SubmissionEvent(submission=stored, status=Status.QUEUED, detail="late" if penalty is not None else None))
    try:
        db.session.commit()
    except IntegrityError:  # a double click that raced past the token check
        db.session.rollback()
        earlier = submission_with_token(user, token) if token else None
        if earlier is None:
            raise
        return earlier
    grading_queue(current_app).enqueue(stored.id)
    return stored


def request_regrade(submission_ids: Iterable[int], by: User) -> list[int]:
    """Queue finished submissions again; each grading adds a result and keeps the earlier ones."""
    leases = Leases.from_config(current_app.config)
    ids = []
    for submission_id in submission_ids:
        moved = db.session.execute(
            update(Submission)
            .where(Submission.id == submission_id, Submission.status.in_([Status.GRADED, Status.ERROR]))
            .values(status=Status.QUEUED, lease_until=leases.until(), attempts=0)
        )
        if moved.rowcount == 1:
            db.session.add(SubmissionEvent(submission_id=submission_id, status=Status.QUEUED, detail=f"regrade requested by {by.name}"))
            ids.append(submission_id)
    db.session.commit()
    queue = grading_queue(current_app)
    for submission_id in ids:
        queue.enqueue(submission_id)
    return ids
