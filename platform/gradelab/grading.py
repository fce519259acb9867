"""Grading a claimed submission: the one module of the site that imports the grader's engine (and torch).

Only what really grades imports it, lazily: the in-process queue's grading threads, the Celery task
of a `gradelab worker`, and the `gradelab worker` command itself (for its warm pool). A web process
that sends its jobs to Celery never loads it. The claim before and the stored result after are
`claims.py`'s; here is what runs in between.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from grader.grading import grade_submission, warm_up
from grader.pool import SandboxPool
from grader.spec import Exercise as ExerciseSpec

from .catalog import exercise_catalog, exercise_spec
from .claims import Leases, claim_next, holder_name, store_result
from .db import db
from .models import Status

if TYPE_CHECKING:
    from flask import Flask

    from grader.sandbox import Runner

log = logging.getLogger(__name__)

# The exercise spec to grade with, given its slug and the version the database holds as current.
SpecSource = Callable[[str, str], ExerciseSpec | None]


def grade_next(session: Session, runner: Runner, specs: SpecSource, leases: Leases, holder: str) -> Status | None:
    """Grade the fairest queued submission; its final status, or None when none was left to grade."""
    claimed = claim_next(session, leases, holder)
    if claimed is None:
        return None
    submission, token = claimed
    submission_id = submission.id
    exercise = submission.exercise
    spec = specs(exercise.slug, exercise.current_version.version)
    if spec is None:
        message = f"The exercise {submission.exercise.slug!r} is no longer in the catalog."
        return store_result(session, submission_id, token, Status.ERROR, message)
    try:
        report = grade_submission(spec, submission.source, runner)
    except Exception as error:  # a grader fault: recorded on the submission, never lost
        log.exception("grading submission %s failed", submission_id)
        message = f"The grader failed ({type(error).__name__}); your submission is kept and will be regraded."
        return store_result(session, submission_id, token, Status.ERROR, message)
    try:
        return store_result(session, submission_id, token, Status.GRADED, f"{report.outcome} {report.score}/{report.max_score}", report)
    except SQLAlchemyError:  # a result the database refuses; if the database is away, this fails too and the lease runs out
        log.exception("storing the result of submission %s failed", submission_id)
        message = "The grader could not store this result; your submission is kept and will be regraded."
        return store_result(session, submission_id, token, Status.ERROR, message)


def grade_in_app(app: Flask, runner: Runner, submission_id: int) -> None:
    """One grading job, as either backend runs it: `submission_id` was queued, the fairest queued one is graded."""
    with app.app_context():
        specs = functools.partial(exercise_spec, app)
        if grade_next(db.session, runner, specs, Leases.from_config(app.config), holder_name()) is None:
            log.debug("job for submission %s stored no result: none was queued, or the lease was lost", submission_id)


def start_pool(app: Flask) -> Runner:
    """Warm sandboxes and the reference traces, ready to grade."""
    pool = SandboxPool(app.config["GRADING_WORKERS"])
    warm_up(exercise_catalog(app).values(), pool)  # while the sandboxes import torch (a reference not cached waits for one)
    pool.wait_ready()
    return pool
