"""The student's pages: exercises, the editor, submitting, and watching a submission get graded."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from werkzeug.wrappers import Response

from .db import db
from .forms import SubmitForm
from .i18n import select_locale
from .models import Exercise, Status, Submission, SubmissionEvent
from .queue import grading_queue
from .statement import render_statement
from .worker import Leases

bp = Blueprint("student", __name__)

# How soon the submission page asks again, by the submission's age: often while a grade is
# likely to land (most take a few hundred ms), then less, so a long queue costs the site little.
POLL_MS_BY_AGE_S = ((3, 100), (15, 500), (float("inf"), 2000))


@bp.before_request
@login_required
def _signed_in() -> None:
    """Every page here is a student's own: sign in first."""


@bp.get("/")
def index() -> str:
    exercises = db.session.scalars(select(Exercise).where(Exercise.published).order_by(Exercise.position)).all()
    return render_template("student/index.html", exercises=exercises, progress=_progress_by_exercise())


@bp.get("/exercises/<slug>")
def exercise(slug: str) -> str:
    found = _published(slug)
    form = SubmitForm(client_token=uuid.uuid4().hex)
    form.source.data = _starting_code(found)
    return _exercise_page(found, form)


@bp.post("/exercises/<slug>/submit")
def submit(slug: str) -> Response | tuple[str, int]:
    found = _published(slug)
    form = SubmitForm()
    if not form.validate_on_submit():
        return _exercise_page(found, form), 400
    earlier = _submission_with_token(form.client_token.data)
    if earlier is not None:  # the same form sent twice: one submission
        return redirect(url_for(".submission", submission_id=earlier.id), 303)
    source = _submitted_source(form)
    version = found.current_version
    problem = None
    if not source.strip():
        problem = (_("Your submission is empty: write your code in the editor, then submit."), 400)
    elif len(source) > version.max_source_bytes:
        limit_kib = version.max_source_bytes // 1024
        problem = (
            _("Your code is %(size)s KiB; this exercise accepts at most %(limit)s KiB.", size=len(source) // 1024, limit=limit_kib),
            413,
        )
    if problem:
        form.source.errors.append(problem[0])
        return _exercise_page(found, form), problem[1]
    stored = _store_submission(found, source, form.client_token.data)
    return redirect(url_for(".submission", submission_id=stored.id), 303)


@bp.get("/exercises/<slug>/submissions")
def history(slug: str) -> str:
    found = _published(slug)
    return render_template("student/history.html", exercise=found, submissions=_own_submissions(found), lang=select_locale())


@bp.get("/submissions/<int:submission_id>")
def submission(submission_id: int) -> str:
    own = _own_submission(submission_id)
    return render_template("student/submission.html", submission=own, lang=select_locale(), poll_ms=_poll_ms(own))


@bp.get("/submissions/<int:submission_id>/result")
def result(submission_id: int) -> str:
    """The live part of the submission page, which htmx fetches again until the grade is final."""
    own = _own_submission(submission_id)
    return render_template("student/_result.html", submission=own, poll_ms=_poll_ms(own))


def _poll_ms(submission: Submission) -> int:
    age_s = (datetime.now(UTC) - _as_utc(submission.created_at)).total_seconds()
    return next(poll_ms for up_to_s, poll_ms in POLL_MS_BY_AGE_S if age_s < up_to_s)


def _as_utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; every time this site stores is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _published(slug: str) -> Exercise:
    found = db.session.scalar(select(Exercise).where(Exercise.slug == slug, Exercise.published))
    if found is None or found.current_version is None:
        abort(404)
    return found


def _own_submission(submission_id: int) -> Submission:
    """The signed-in student's submission; 404 for anyone else's, which does not say it exists."""
    found = db.session.get(Submission, submission_id)
    if found is None or found.user_id != current_user.id:
        abort(404)
    return found


def _own_submissions(exercise: Exercise) -> list[Submission]:
    query = select(Submission).where(Submission.user_id == current_user.id, Submission.exercise_id == exercise.id)
    return list(db.session.scalars(query.order_by(Submission.id.desc())))


def _submission_with_token(token: str) -> Submission | None:
    return db.session.scalar(select(Submission).where(Submission.user_id == current_user.id, Submission.client_token == token))


def _starting_code(exercise: Exercise) -> str:
    """The starter, or the code of one of the student's own submissions (`?from=<id>`)."""
    from_id = request.args.get("from", type=int)
    if from_id is not None:
        return _own_submission(from_id).source_text
    return exercise.current_version.starter


def _submitted_source(form: SubmitForm) -> bytes:
    """An uploaded file as its exact bytes; the editor's text with the browser's CRLF undone."""
    upload = request.files.get("upload")
    if upload is not None and upload.filename:
        return upload.read(current_app.config["MAX_CONTENT_LENGTH"] + 1)
    return (form.source.data or "").replace("\r\n", "\n").encode("utf-8")


def _store_submission(exercise: Exercise, source: bytes, token: str) -> Submission:
    """Commit the row, then queue its id: a queue that fails cannot lose a stored submission."""
    stored = Submission(
        user=current_user,
        exercise=exercise,
        exercise_version=exercise.current_version,
        source=source,
        client_token=token,
        lease_until=Leases.from_config(current_app.config).until(),
    )
    db.session.add(stored)
    db.session.add(SubmissionEvent(submission=stored, status=Status.QUEUED))
    try:
        db.session.commit()
    except IntegrityError:  # a double click that raced past the token check
        db.session.rollback()
        earlier = _submission_with_token(token)
        if earlier is None:
            raise
        return earlier
    grading_queue(current_app).enqueue(stored.id)
    return stored


def _exercise_page(exercise: Exercise, form: SubmitForm) -> str:
    lang = select_locale()
    version = exercise.current_version
    return render_template(
        "student/exercise.html",
        exercise=exercise,
        version=version,
        statement=render_statement(version.statement(lang)),
        form=form,
        submissions=_own_submissions(exercise)[:10],
        lang=lang,
    )


def _progress_by_exercise() -> dict[int, dict[str, int | None]]:
    """Attempts and best score of the signed-in student, per exercise id."""
    rows = db.session.execute(
        select(Submission.exercise_id, func.count(Submission.id), func.max(Submission.score))
        .where(Submission.user_id == current_user.id)
        .group_by(Submission.exercise_id)
    )
    return {exercise_id: {"attempts": attempts, "best": best} for exercise_id, attempts, best in rows}
