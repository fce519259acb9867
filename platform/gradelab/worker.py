"""Grading a stored submission: claim it, run the grader, store the result. Flask-free.

Every path ends in a final status: a student's failure is a graded result with its outcome; a fault
of the grader itself is the `error` status with its message, and the submission stays to be regraded.
"""

from __future__ import annotations

import logging

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from grader.grading import Runner, grade_submission
from grader.report import GradeReport
from grader.spec import Exercise as ExerciseSpec

from .models import GradeResult, Status, Submission, SubmissionEvent

log = logging.getLogger(__name__)


def record_status(session: Session, submission: Submission, status: Status, detail: str | None = None) -> None:
    submission.status = status
    session.add(SubmissionEvent(submission=submission, status=status, detail=detail))


def claim(session: Session, submission_id: int) -> Submission | None:
    """Move a queued submission to running; None when someone else has it or it is already graded."""
    moved = session.execute(
        update(Submission).where(Submission.id == submission_id, Submission.status == Status.QUEUED).values(status=Status.RUNNING)
    )
    if moved.rowcount != 1:
        session.rollback()
        return None
    submission = session.get(Submission, submission_id)
    session.add(SubmissionEvent(submission=submission, status=Status.RUNNING))
    session.commit()
    return submission


def grade_stored(session: Session, runner: Runner, catalog: dict[str, ExerciseSpec], submission_id: int) -> Status | None:
    """Grade one stored submission; its final status, or None when it was not ours to grade."""
    submission = claim(session, submission_id)
    if submission is None:
        return None
    spec = catalog.get(submission.exercise.slug)
    if spec is None:
        return _fail(session, submission, f"The exercise {submission.exercise.slug!r} is no longer in the catalog.")
    try:
        report = grade_submission(spec, submission.source, runner)
    except Exception as error:  # a grader fault: recorded on the submission, never lost
        log.exception("grading submission %s failed", submission_id)
        return _fail(session, submission, f"The grader failed ({type(error).__name__}); your submission is kept and will be regraded.")
    store_result(session, submission, report)
    return Status.GRADED


def store_result(session: Session, submission: Submission, report: GradeReport) -> None:
    """The result, the submission's summary and its status change, in one transaction."""
    session.add(
        GradeResult(
            submission=submission,
            exercise_version=report.exercise_version,
            score=report.score,
            max_score=report.max_score,
            outcome=report.outcome,
            report=report.to_json(),
        )
    )
    submission.score, submission.max_score, submission.outcome = report.score, report.max_score, report.outcome
    record_status(session, submission, Status.GRADED, f"{report.outcome} {report.score}/{report.max_score}")
    session.commit()


def _fail(session: Session, submission: Submission, message: str) -> Status:
    session.rollback()
    record_status(session, submission, Status.ERROR, message)
    session.commit()
    return Status.ERROR


def unfinished_ids(session: Session) -> list[int]:
    """Submissions a stopped server left queued or running: put back in the queue, oldest first."""
    stuck = session.scalars(select(Submission).where(Submission.status.in_([Status.QUEUED, Status.RUNNING])).order_by(Submission.id))
    ids = []
    for submission in stuck:
        if submission.status == Status.RUNNING:
            record_status(session, submission, Status.QUEUED, "grading was interrupted; queued again")
        ids.append(submission.id)
    session.commit()
    return ids
