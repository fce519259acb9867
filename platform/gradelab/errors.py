"""Error pages: every refusal gets a page that says what happened, never a stack trace."""

from __future__ import annotations

from flask import Flask, g, render_template
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.wrappers import Response

from .security import login_manager


def _messages() -> dict[int, str]:
    return {
        400: _("The request could not be understood."),
        401: _("Sign in first; API calls need a token: Authorization: Bearer <token>."),
        403: _("You do not have access to this page."),
        404: _("There is no such page, or it is not yours to see."),
        405: _("This page does not accept that kind of request."),
        413: _("What you sent is too large. Exercises accept source files up to a few hundred KiB."),
        429: _("Too many attempts. Wait a minute, then try again."),
        500: _("Something went wrong on our side. Your submission, if you sent one, is saved."),
        503: _("The site cannot reach its database right now. Try again in a moment."),
    }


def error_message(code: int, default: str | None = None) -> str:
    return _messages().get(code, default or "")


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError) -> tuple[str, int]:
        message = _("The form expired or was not sent by this site. Reload the page and try again.")
        return render_template("errors/error.html", code=400, message=message), 400

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response | tuple[str, int]:
        if error.response is not None:  # a refusal that made its own page (the sign-in lockout's)
            return error.response
        code = error.code or 500
        return render_template("errors/error.html", code=code, message=error_message(code, error.description)), code

    @app.errorhandler(OperationalError)
    def database_down(error: OperationalError) -> tuple[str, int]:
        app.logger.error("database unavailable: %s", error)
        # Render the page as for a visitor: looking the user up would hit the database again.
        g._login_user = login_manager.anonymous_user()
        return render_template("errors/error.html", code=503, message=_messages()[503]), 503

    @app.errorhandler(InternalServerError)
    def internal_error(error: InternalServerError) -> tuple[str, int]:
        return render_template("errors/error.html", code=500, message=_messages()[500]), 500
