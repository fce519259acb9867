"""Taking in a submission, from the web form or the API: its checks, the late policy, storing, queueing.

A student has at most MAX_SUBMISSIONS_IN_FLIGHT submissions queued or running; a retried request
(the same client token) finds its earlier submission. Also the instructor's regrade, which sends
stored submissions through the same queue again, on the lower lane.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from .db import db
from .models import Exercise, LatePolicy, Status, Submission, SubmissionEvent, User, utcnow
from .queue import grading_queue
from .claims import Leases

# How soon a submission page asks again, by the submission's age: often while a grade is likely
# to land (most take a few hundred ms), then less, so a long queue costs the site little.
POLL_MS_BY_AGE_S = ((3, 100), (15, 500), (float("inf"), 2000))


class Refused(Exception):
    """A submission the site will not take, with the message and HTTP status to answer."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.message, self.status = message, status


class TokenReused(Refused):
    """A client token sent again with other code or for another exercise: nothing is stored (409)."""

    def __init__(self, earlier: Submission) -> None:
        message = _(
            "This form was already sent as submission #%(id)s, with other code; nothing new was stored. "
            "Your code is below: submit it again to make a new submission.",
            id=earlier.id,
        )
        super().__init__(message, 409)
        self.earlier = earlier


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


def earlier_submission(user: User, exercise: Exercise, source: bytes, token: str | None) -> Submission | None:
    """The submission a retried request already made; TokenReused when its token came with other code or exercise."""
    earlier = submission_with_token(user, token) if token else None
    if earlier is not None and (earlier.exercise_id != exercise.id or earlier.source != source):
        raise TokenReused(earlier)
    return earlier


def submissions_in_flight(user: User) -> int:
    """The student's own submissions queued or running; an instructor's regrades are not theirs to wait for."""
    in_flight = Submission.status.in_([Status.QUEUED, Status.RUNNING])
    return db.session.scalar(select(func.count(Submission.id)).where(Submission.user_id == user.id, in_flight, Submission.regrade.is_(False)))


def check_in_flight(user: User) -> None:
    limit = current_app.config["MAX_SUBMISSIONS_IN_FLIGHT"]
    if submissions_in_flight(user) >= limit:
        message = ngettext(
            "You already have %(num)d submission waiting for its grade. Wait until it is graded, then submit again.",
            "You already have %(num)d submissions waiting for their grades. Wait until one is graded, then submit again.",
            limit,
        )
        raise Refused(message, 429)


def lock_submitter(user: User) -> None:
    """Hold the student's row until this transaction ends, so that their requests count and store one at a time.

    An UPDATE that changes nothing: on PostgreSQL it takes the row's lock; SQLite has no row locks,
    and any write takes its database lock, which serialises just as well.
    """
    same = update(User).where(User.id == user.id).values(id=User.id).execution_options(synchronize_session=False)
    db.session.execute(same)


def store_submission(user: User, exercise: Exercise, source: bytes, token: str | None) -> Submission:
    """Commit the row, then queue its id: a queue that fails cannot lose a stored submission.

    Raises Refused for empty or oversize code, after a deadline that refuses, when the student
    already has their limit of submissions in flight (429), or for a token reused with other code (409).
    """
    check_source(exercise, source)
    penalty = late_penalty(exercise, utcnow())
    lock_submitter(user)
    try:  # under the lock: a double click's second request finds the first; two requests never both pass the count
        earlier = earlier_submission(user, exercise, source, token)
        if earlier is None:
            check_in_flight(user)
    except Refused:
        db.session.rollback()
        raise
    if earlier is not None:
        db.session.commit()
        return earlier
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
        earlier = earlier_submission(user, exercise, source, token)
        if earlier is None:
            raise
        return earlier
    grading_queue(current_app).enqueue(stored.id)
    return stored


def request_regrade(submission_ids: Iterable[int], by: User) -> list[int]:
    """Queue finished submissions again, on the regrade lane; each grading adds a result and keeps the earlier ones."""
    leases = Leases.from_config(current_app.config)
    ids = []
    for submission_id in submission_ids:
        moved = db.session.execute(
            update(Submission)
            .where(Submission.id == submission_id, Submission.status.in_([Status.GRADED, Status.ERROR]))
            .values(status=Status.QUEUED, lease_until=leases.until(), attempts=0, regrade=True)
        )
        if moved.rowcount == 1:
            db.session.add(SubmissionEvent(submission_id=submission_id, status=Status.QUEUED, detail=f"regrade requested by {by.name}"))
            ids.append(submission_id)
    db.session.commit()
    queue = grading_queue(current_app)
    for submission_id in ids:
        queue.enqueue(submission_id)
    return ids
