"""The JSON API behind `gradelab submit`: list exercises, submit, poll a result. Bearer tokens only.

Answers are JSON, errors included. No session cookie is read or set, so CSRF does not apply.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from flask import Blueprint, abort, g, jsonify, request, url_for
from sqlalchemy import select
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from .db import db
from .errors import error_message
from .exports import gradescope_results
from .gradebook import exercises_in_order, gradebook
from .models import Exercise, Submission, User
from .security import csrf
from .submissions import Refused, TokenReused, as_utc, earlier_submission, store_submission
from .tokens import user_for_token

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)


@bp.before_request
def _authenticate() -> None:
    credentials = request.authorization
    user = user_for_token(db.session, credentials.token) if credentials and credentials.type == "bearer" and credentials.token else None
    if user is None:
        abort(401)
    g.api_user = user


@bp.errorhandler(HTTPException)
def _http_error(error: HTTPException) -> tuple[Response, int]:
    return _json_error(error_message(error.code or 500, error.description), error.code or 500)


@bp.errorhandler(Refused)
def _refused(refused: Refused) -> tuple[Response, int]:
    return _json_error(refused.message, refused.status)


def _json_error(message: str, status: int) -> tuple[Response, int]:
    response = jsonify(error=message, status=status)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="gradelab"'
    return response, status


@bp.get("/exercises")
def exercises() -> Response:
    user: User = g.api_user
    shown = [e for e in exercises_in_order(db.session) if e.published or user.is_instructor]
    return jsonify(exercises=[_exercise_json(e) for e in shown])


@bp.post("/exercises/<slug>/submissions")
def submit(slug: str) -> tuple[Response, int, dict[str, str]]:
    user: User = g.api_user
    exercise = db.session.scalar(select(Exercise).where(Exercise.slug == slug))
    if exercise is None or exercise.current_version is None or not (exercise.published or user.is_instructor):
        abort(404)
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise Refused('Send a JSON object: {"source": "..."} or {"source_base64": "..."}.', 400)
    token = body.get("client_token")
    if token is not None and (not isinstance(token, str) or len(token) > 64):
        raise Refused("client_token: a string of at most 64 characters.", 400)
    source = _source_of(body)
    try:
        earlier = earlier_submission(user, exercise, source, token)
        if earlier is not None:  # a retried request: the same submission
            return jsonify(_submission_json(earlier)), 200, {"Location": url_for(".submission", submission_id=earlier.id)}
        stored = store_submission(user, exercise, source, token)
    except TokenReused as reused:
        message = (
            f"client_token {token!r} was already used for submission {reused.earlier.id}, with another source or exercise; "
            "nothing new was stored. Send new code with a new client_token."
        )
        raise Refused(message, 409) from None
    return jsonify(_submission_json(stored)), 202, {"Location": url_for(".submission", submission_id=stored.id)}


@bp.get("/submissions/<int:submission_id>")
def submission(submission_id: int) -> Response:
    user: User = g.api_user
    found = db.session.get(Submission, submission_id)
    if found is None or (found.user_id != user.id and not user.is_instructor):
        abort(404)
    return jsonify(_submission_json(found))


@bp.get("/gradebook")
def gradebook_json() -> Response:
    if not g.api_user.is_instructor:
        abort(403)
    exercises = exercises_in_order(db.session)
    rows = [
        {
            "name": row.student.name,
            "email": row.student.email,
            "total": row.total,
            "exercises": {e.slug: vars(row.cell(e)) for e in exercises},
        }
        for row in gradebook(db.session)
    ]
    return jsonify(exercises=[e.slug for e in exercises], students=rows)


@bp.get("/submissions/<int:submission_id>/results.json")
def gradescope(submission_id: int) -> Response:
    if not g.api_user.is_instructor:
        abort(403)
    return jsonify(gradescope_results(db.session.get(Submission, submission_id) or abort(404)))


def _source_of(body: dict[str, Any]) -> bytes:
    if isinstance(body.get("source_base64"), str):
        try:
            return base64.b64decode(body["source_base64"], validate=True)
        except (binascii.Error, ValueError):
            raise Refused("source_base64 is not valid base64.", 400) from None
    if isinstance(body.get("source"), str):
        return body["source"].encode("utf-8")
    raise Refused('Send the code as "source" (text) or "source_base64" (the file\'s bytes).', 400)


def _exercise_json(exercise: Exercise) -> dict[str, Any]:
    version = exercise.current_version
    return {
        "slug": exercise.slug,
        "title": {"en": version.title_en, "zh": version.title_zh},
        "version": version.version,
        "max_score": version.max_score,
        "published": exercise.published,
        "deadline": as_utc(exercise.deadline).isoformat() if exercise.deadline else None,
        "late_policy": exercise.late_policy.value,
        "late_penalty": exercise.late_penalty,
    }


def _submission_json(submission: Submission) -> dict[str, Any]:
    result = submission.latest_result
    return {
        "id": submission.id,
        "exercise": submission.exercise.slug,
        "status": submission.status.value,
        "final": submission.status.is_final,
        "score": submission.score,
        "max_score": submission.max_score,
        "final_score": submission.final_score,
        "late": submission.late,
        "penalty": submission.penalty,
        "created_at": as_utc(submission.created_at).isoformat(),
        "events": [{"status": e.status.value, "at": as_utc(e.created_at).isoformat(), "detail": e.detail} for e in submission.events],
        "report": result.report if result else None,
        "url": url_for("student.submission", submission_id=submission.id, _external=True),
    }
