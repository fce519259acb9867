"""Grading a stored submission: claim it, run the grader, store the result. Flask-free.

Every path ends in a final status: a student's failure is a graded result with its outcome; a fault
of the grader itself is the `error` status with its message. Until then the row has a lease: a
deadline past which `requeue_expired` puts it back in the queue, so a worker killed mid-grade, or
a queue that lost its jobs, delays a grade but never loses it. A claim carries a token, and only
the attempt holding the current token may store a result: exactly one result per grading.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from grader.grading import Runner, grade_submission
from grader.report import GradeReport
from grader.spec import Exercise as ExerciseSpec

from .models import GradeResult, Status, Submission, SubmissionEvent, utcnow

log = logging.getLogger(__name__)


def lease_until(lease_s: float) -> datetime:
    return utcnow() + timedelta(seconds=lease_s)


def claim(session: Session, submission_id: int, lease_s: float, worker: str) -> tuple[Submission, str] | None:
    """Move a queued submission to running under a new token; None when it is not ours to grade."""
    token = secrets.token_hex(16)
    moved = session.execute(
        update(Submission)
        .where(Submission.id == submission_id, Submission.status == Status.QUEUED)
        .values(status=Status.RUNNING, lease_token=token, lease_until=lease_until(lease_s), attempts=Submission.attempts + 1)
    )
    if moved.rowcount != 1:
        session.rollback()
        return None
    submission = session.get(Submission, submission_id)
    session.refresh(submission)
    session.add(SubmissionEvent(submission=submission, status=Status.RUNNING, detail=f"attempt {submission.attempts} on {worker}"))
    session.commit()
    return submission, token


def grade_stored(
    session: Session, runner: Runner, catalog: dict[str, ExerciseSpec], submission_id: int, lease_s: float, worker: str
) -> Status | None:
    """Grade one stored submission; its final status, or None when it was not ours to grade."""
    claimed = claim(session, submission_id, lease_s, worker)
    if claimed is None:
        return None
    submission, token = claimed
    spec = catalog.get(submission.exercise.slug)
    if spec is None:
        return _finish(session, submission_id, token, Status.ERROR, f"The exercise {submission.exercise.slug!r} is no longer in the catalog.")
    try:
        report = grade_submission(spec, submission.source, runner)
    except Exception as error:  # a grader fault: recorded on the submission, never lost
        log.exception("grading submission %s failed", submission_id)
        message = f"The grader failed ({type(error).__name__}); your submission is kept and will be regraded."
        return _finish(session, submission_id, token, Status.ERROR, message)
    return _finish(session, submission_id, token, Status.GRADED, f"{report.outcome} {report.score}/{report.max_score}", report)


def _finish(
    session: Session, submission_id: int, token: str, status: Status, detail: str, report: GradeReport | None = None
) -> Status | None:
    """The final status, the result and its event in one transaction, if this attempt still holds the lease."""
    session.rollback()  # nothing of the grading itself is pending; start from the database's state
    summary = {"score": report.score, "max_score": report.max_score, "outcome": report.outcome} if report else {}
    moved = session.execute(
        update(Submission)
        .where(Submission.id == submission_id, Submission.status == Status.RUNNING, Submission.lease_token == token)
        .values(status=status, lease_token=None, lease_until=None, **summary)
    )
    if moved.rowcount != 1:  # the lease expired and another attempt took over: its result counts
        session.rollback()
        log.warning("submission %s: lease lost before storing; result dropped", submission_id)
        return None
    if report is not None:
        session.add(_result_row(submission_id, report))
    session.add(SubmissionEvent(submission_id=submission_id, status=status, detail=detail))
    session.commit()
    return status


def _result_row(submission_id: int, report: GradeReport) -> GradeResult:
    return GradeResult(
        submission_id=submission_id,
        exercise_version=report.exercise_version,
        score=report.score,
        max_score=report.max_score,
        outcome=report.outcome,
        report=report.to_json(),
    )


def requeue_expired(session: Session, lease_s: float, everything: bool = False) -> list[int]:
    """Unfinished submissions whose lease ran out, back to queued with a new lease; their ids, oldest first.

    `everything`: take every unfinished row, expired or not (a single-process site that restarts
    knows no grading is under way).
    """
    now = utcnow()
    stale = [Submission.status.in_([Status.QUEUED, Status.RUNNING])]
    if not everything:
        stale.append(or_(Submission.lease_until.is_(None), Submission.lease_until < now))
    ids = []
    for submission_id, status in session.execute(select(Submission.id, Submission.status).where(*stale).order_by(Submission.id)).all():
        moved = session.execute(
            update(Submission)
            .where(Submission.id == submission_id, *stale)
            .values(status=Status.QUEUED, lease_token=None, lease_until=lease_until(lease_s))
        )
        if moved.rowcount == 1:
            if status == Status.RUNNING:
                detail = "grading was interrupted; queued again"
                session.add(SubmissionEvent(submission_id=submission_id, status=Status.QUEUED, detail=detail))
            ids.append(submission_id)
    session.commit()
    return ids
