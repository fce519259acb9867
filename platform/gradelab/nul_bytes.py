"""A NUL character anywhere in a request's text is a 400 with a message, answered before any view runs.

PostgreSQL cannot store NUL in a text column, so such text must never reach a query. The one
exception is a submission's source (the form's and the JSON's `source` field, and uploads): it is
stored as bytes, and the grader reports a NUL in it as a syntax error.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify, render_template, request
from flask_babel import gettext as _
from werkzeug.wrappers import Response

SOURCE_FIELD = "source"  # submission source: bytes, may hold NUL


def init_app(app: Flask) -> None:
    app.before_request(_refuse_nul_bytes)


def _refuse_nul_bytes() -> Response | tuple[Response | str, int] | None:
    message = _refusal()
    if message is None:
        return None
    if request.path.startswith("/api/"):
        return jsonify(error=message, status=400), 400
    return render_template("errors/error.html", code=400, message=message), 400


def _refusal() -> str | None:
    """Why the request is refused before any view: a NUL in its text, or JSON too deep to read."""
    if _text_has_nul():
        return _nul_message()
    if not request.is_json:
        return None
    try:
        body = request.get_json(silent=True)
    except RecursionError:
        return _("The JSON in the request is nested too deeply.")
    return _nul_message() if _json_has_nul(body) else None


def _nul_message() -> str:
    return _("The request contains a NUL character (\\0), which text on this site cannot hold. Remove it and send again.")


def _text_has_nul() -> bool:
    """Whether the path, the query or the form (but its source field) holds NUL."""
    if "\0" in request.path or any("\0" in key or "\0" in value for key, value in request.args.items(multi=True)):
        return True
    return any("\0" in key or ("\0" in value and key != SOURCE_FIELD) for key, value in request.form.items(multi=True))


def _json_has_nul(body: Any) -> bool:
    """Whether JSON text, but a top-level `source`, holds NUL; walked without recursion, so depth costs a loop."""
    pending = [*body, *(value for key, value in body.items() if key != SOURCE_FIELD)] if isinstance(body, dict) else [body]
    while pending:
        value = pending.pop()
        if isinstance(value, str):
            if "\0" in value:
                return True
        elif isinstance(value, dict):
            pending += [*value.keys(), *value.values()]
        elif isinstance(value, list):
            pending += value
    return False
