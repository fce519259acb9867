"""English and Simplified Chinese: which one a request gets, and the switch between them."""

from __future__ import annotations

from flask import Blueprint, Flask, redirect, request, session
from flask_babel import Babel
from flask_login import current_user
from werkzeug.wrappers import Response

from .config import LANGUAGES
from .db import db
from .urls import safe_next_url

babel = Babel()
bp = Blueprint("i18n", __name__)


def select_locale() -> str:
    """The signed-in user's choice, else this browser's choice, else the Accept-Language header."""
    if current_user.is_authenticated and current_user.locale in LANGUAGES:
        return current_user.locale
    if session.get("locale") in LANGUAGES:
        return session["locale"]
    return request.accept_languages.best_match(LANGUAGES) or "en"


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.globals["current_language"] = select_locale


@bp.post("/language/<lang>")
def switch(lang: str) -> Response:
    if lang in LANGUAGES:
        session["locale"] = lang
        if current_user.is_authenticated:
            current_user.locale = lang
            db.session.commit()
    return redirect(safe_next_url(request.form.get("next")))
