"""The student's pages: exercises, the editor, submitting, and watching a submission get graded."""

from __future__ import annotations

import contextlib
import uuid

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import func, select
from werkzeug.wrappers import Response

from .db import db
from .forms import SubmitForm
from .i18n import select_locale
from .models import Exercise, Submission
from .statement import render_statement
from .submissions import Refused, TokenReused, earlier_submission, poll_ms, store_submission

bp = Blueprint("student", __name__)

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
    source = _submitted_source(form)
    try:
        earlier = earlier_submission(current_user, found, source, form.client_token.data)
        if earlier is not None:  # the same form sent twice: one submission
            return redirect(url_for(".submission", submission_id=earlier.id), 303)
        stored = store_submission(current_user, found, source, form.client_token.data)
    except Refused as refused:
        return _refused_page(found, form, source, refused), refused.status
    return redirect(url_for(".submission", submission_id=stored.id), 303)


@bp.get("/exercises/<slug>/submissions")
def history(slug: str) -> str:
    found = _published(slug)
    return render_template("student/history.html", exercise=found, submissions=_own_submissions(found), lang=select_locale())


@bp.get("/submissions/<int:submission_id>")
def submission(submission_id: int) -> str:
    own = _own_submission(submission_id)
    return render_template("student/submission.html", submission=own, lang=select_locale(), poll_ms=poll_ms(own))


@bp.get("/submissions/<int:submission_id>/result")
def result(submission_id: int) -> str:
    """The live part of the submission page, which htmx fetches again until the grade is final."""
    own = _own_submission(submission_id)
    return render_template("student/_result.html", submission=own, poll_ms=poll_ms(own))


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


def _refused_page(exercise: Exercise, form: SubmitForm, source: bytes, refused: Refused) -> str:
    """The exercise page again with the message and the student's code, ready to send again."""
    form.source.errors.append(refused.message)
    if refused.status in (409, 429):  # told to send the same code again: an uploaded file's code goes into the editor
        with contextlib.suppress(UnicodeDecodeError):
            form.source.data = source.decode("utf-8")
    if isinstance(refused, TokenReused):  # this form's token is spent: the next click makes a new submission
        form.client_token.data = uuid.uuid4().hex
    return _exercise_page(exercise, form)


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
