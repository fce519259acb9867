"""Claims on stored submissions: who grades which one next, under a lease, and storing its result.

Torch-free and Flask-free: the web tier imports it to take in and sweep submissions, and grades
nothing with it; `grading.py` (imported only where grading really happens) runs the grader between
a claim and its stored result.

A job from the queue means "one more submission waits"; which one is graded is the table's choice:
students' own submissions round-robin by student, then instructors' regrades, so that one
student's backlog, or a mass regrade, never pushes another student's fresh submission behind it.

Every path ends in a final status: a student's failure is a graded result with its outcome; a fault
of the grader itself is the `error` status with its message. Until then the row has a lease: a
deadline past which `requeue_expired` puts it back in the queue, so a grading process killed
mid-grade, or a queue that lost its jobs, delays a grade but never loses it. A claim carries a
token, and only the attempt holding the current token may store a result: exactly one result per
grading. A submission whose gradings keep dying (a poison job) ends as `error` after
`max_attempts`, so that it cannot occupy the graders forever.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, or_, select, update
from sqlalchemy.orm import Session

from grader.report import GradeReport, json_safe

from .models import GradeResult, Status, Submission, SubmissionEvent, utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Leases:
    """How long a grading may hold a submission, and how many gradings it gets."""

    lease_s: float
    max_attempts: int

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Leases:
        return cls(config["GRADING_LEASE_S"], config["GRADING_MAX_ATTEMPTS"])

    def until(self) -> datetime:
        """The deadline of a lease taken now."""
        return utcnow() + timedelta(seconds=self.lease_s)


def holder_name() -> str:
    """This process, as the holder of the leases it claims: host:pid, shown in the submission's events."""
    return f"{socket.gethostname()}:{os.getpid()}"


def claim(session: Session, submission_id: int, leases: Leases, holder: str) -> tuple[Submission, str] | None:
    """Move a queued submission to running under a new token; None when it is not ours to grade."""
    token = secrets.token_hex(16)
    moved = session.execute(
        update(Submission)
        .where(Submission.id == submission_id, Submission.status == Status.QUEUED)
        .values(status=Status.RUNNING, lease_token=token, lease_until=leases.until(), attempts=Submission.attempts + 1)
    )
    if moved.rowcount != 1:
        session.rollback()
        return None
    submission = session.get(Submission, submission_id)
    session.refresh(submission)
    session.add(SubmissionEvent(submission=submission, status=Status.RUNNING, detail=f"attempt {submission.attempts} on {holder}"))
    session.commit()
    return submission, token


# How many of the fairest queued ids one look at the table fetches, and how many looks a job may take
# when other graders keep claiming them first (each lost claim means another grader took one).
CANDIDATES_PER_LOOK = 8
LOOKS_PER_JOB = 50


def queued_in_fair_order(session: Session, count: int) -> list[int]:
    """The ids of the next `count` queued submissions to grade, the first first.

    Students' own submissions come first, round-robin by student (`_students_in_turn`); then the
    regrades, oldest first.
    """
    ids = _students_in_turn(session, count)
    if len(ids) < count:
        regrades = select(Submission.id).where(Submission.status == Status.QUEUED, Submission.regrade.is_(True))
        ids += session.scalars(regrades.order_by(Submission.id).limit(count - len(ids)))
    return ids


def _students_in_turn(session: Session, count: int) -> list[int]:
    """Students' own queued submissions in turn: how many of its student's are running plus how many
    of theirs are queued before it; at equal turns, the student served longest ago (or never) first.
    """
    own = Submission.regrade.is_(False)
    queued = (
        select(Submission.id, Submission.user_id, func.row_number().over(partition_by=Submission.user_id, order_by=Submission.id).label("rank"))
        .where(Submission.status == Status.QUEUED, own)
        .subquery()
    )
    # Only the students who are waiting: their running count and when a grading of theirs last
    # started or ended (a claim and a result both stamp updated_at).
    waiting = select(Submission.user_id).where(Submission.status == Status.QUEUED, own)
    served = (
        select(
            Submission.user_id,
            func.sum(case((Submission.status == Status.RUNNING, 1), else_=0)).label("running"),
            func.max(Submission.updated_at).label("last_served"),
        )
        .where(Submission.user_id.in_(waiting), Submission.status != Status.QUEUED, own)
        .group_by(Submission.user_id)
        .subquery()
    )
    turn = queued.c.rank + func.coalesce(served.c.running, 0)
    never_served_first = served.c.last_served.is_not(None)
    query = (
        select(queued.c.id)
        .outerjoin(served, served.c.user_id == queued.c.user_id)
        .order_by(turn, never_served_first, served.c.last_served, queued.c.id)
        .limit(count)
    )
    return list(session.scalars(query))


def claim_next(session: Session, leases: Leases, holder: str) -> tuple[Submission, str] | None:
    """Claim the fairest queued submission; None when nothing is queued."""
    for _ in range(LOOKS_PER_JOB):
        candidates = queued_in_fair_order(session, CANDIDATES_PER_LOOK)
        session.rollback()  # a claim starts from the database's latest state
        if not candidates:
            return None
        for submission_id in candidates:
            claimed = claim(session, submission_id, leases, holder)
            if claimed is not None:
                return claimed
    log.warning("%s: every queued submission was claimed by others %d times over", holder, LOOKS_PER_JOB)
    return None


def store_result(
    session: Session, submission_id: int, token: str, status: Status, detail: str, report: GradeReport | None = None
) -> Status | None:
    """The final status, the result and its event in one transaction, if this attempt still holds the lease.

    `token` is the claim's. Returns `status`, or None when the lease was lost: another attempt took
    over, and its result counts.
    """
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
        diagnosis_codes=" ".join(dict.fromkeys(report.codes)),
        report=json_safe(report.to_json()),  # strict JSON: a diverged run's infinities as strings
    )


def requeue_expired(session: Session, leases: Leases, everything: bool = False) -> list[int]:
    """Unfinished submissions whose lease ran out, back to queued with a new lease; their ids, oldest first.

    One that has used up its attempts ends as `error` instead. `everything`: take every unfinished
    row, expired or not (a single-process site that restarts knows no grading is under way).
    """
    stale = [Submission.status.in_([Status.QUEUED, Status.RUNNING])]
    if not everything:
        stale.append(or_(Submission.lease_until.is_(None), Submission.lease_until < utcnow()))
    ids = []
    rows = session.execute(select(Submission.id, Submission.status, Submission.attempts).where(*stale).order_by(Submission.id)).all()
    for submission_id, status, attempts in rows:
        given_up = status == Status.RUNNING and attempts >= leases.max_attempts
        values = {"status": Status.ERROR, "lease_until": None} if given_up else {"status": Status.QUEUED, "lease_until": leases.until()}
        moved = session.execute(update(Submission).where(Submission.id == submission_id, *stale).values(lease_token=None, **values))
        if moved.rowcount != 1:
            continue
        if given_up:
            detail = f"grading stopped {attempts} times before it finished; the submission is kept for an instructor to regrade"
        elif status == Status.RUNNING:
            detail = "grading was interrupted; queued again"
        else:
            detail = None
        if detail:
            session.add(SubmissionEvent(submission_id=submission_id, status=values["status"], detail=detail))
        if not given_up:
            ids.append(submission_id)
    session.commit()
    return ids
