"""Sign-in failure limits that one student cannot turn against another.

Failures are counted three ways, and only failures (a 401) count:
- per account and address: a guesser behind a lab's NAT slows only guesses at that account from there;
- per account, from every address: guessing spread over many machines waits a few minutes;
- per known browser: a browser that signed in to the account before carries a signed cookie and is
  counted on its own, so no one else's failures keep the owner out of their account.
"""

from __future__ import annotations

import hashlib
import math
import secrets
import time
from collections.abc import Callable
from typing import TypeVar

from flask import current_app, render_template, request
from flask_babel import gettext as _
from flask_limiter import RequestLimit
from flask_limiter.util import get_remote_address
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.wrappers import Response

from .emails import email_key
from .forms import SignInForm
from .security import limiter

KNOWN_BROWSER_COOKIE = "gradelab_browser"
KNOWN_ACCOUNTS_PER_BROWSER = 8  # a shared lab machine remembers its last few students

View = TypeVar("View", bound=Callable[..., object])


def limited_sign_in(view: View) -> View:
    """`view` behind the three failure limits; the config names each rate."""
    common = {"methods": ["POST"], "deduct_when": _is_failure, "on_breach": refusal}
    strangers = {"exempt_when": is_known_browser, **common}
    by_address = limiter.limit(_setting("LOGIN_RATE_LIMIT"), key_func=_account_and_address, scope="address", **strangers)
    by_account = limiter.limit(_setting("LOGIN_ACCOUNT_RATE_LIMIT"), key_func=_typed_account, scope="account", **strangers)
    by_browser = limiter.limit(_setting("LOGIN_RATE_LIMIT"), key_func=_browser, scope="browser", exempt_when=_is_unknown_browser, **common)
    return by_browser(by_account(by_address(view)))


def _setting(key: str) -> Callable[[], str]:
    """A rate read from the app's config on each request, not once at import."""
    return lambda: current_app.config[key]


def _is_failure(response: Response) -> bool:
    return response.status_code == 401


def _typed_account() -> str:
    """The account the form names, as a short digest: limit keys never hold an address in clear."""
    return _account_digest(request.form.get("email", ""))


def _account_digest(email: str) -> str:
    return hashlib.sha256(email_key(email).encode()).hexdigest()[:32]


def _account_and_address() -> str:
    return f"{_typed_account()}@{get_remote_address()}"


def _browser() -> str:
    return f"{_typed_account()}#{_known_browser()[0]}"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="gradelab-known-browser")


def _known_browser() -> tuple[str, list[str]]:
    """This browser's id and the accounts it signed in to, from its signed cookie; ("", []) if none or forged."""
    cookie = request.cookies.get(KNOWN_BROWSER_COOKIE)
    if not cookie:
        return "", []
    try:
        browser, accounts = _serializer().loads(cookie, max_age=current_app.config["LOGIN_KNOWN_BROWSER_DAYS"] * 86400)
    except (BadSignature, ValueError, TypeError):
        return "", []
    return str(browser), [str(account) for account in accounts]


def is_known_browser() -> bool:
    return _typed_account() in _known_browser()[1]


def _is_unknown_browser() -> bool:
    return not is_known_browser()


def remember_browser(response: Response, email: str) -> Response:
    """After a right password: this browser is known to that account from now on."""
    browser, accounts = _known_browser()
    account = _account_digest(email)
    accounts = [*(a for a in accounts if a != account), account][-KNOWN_ACCOUNTS_PER_BROWSER:]
    response.set_cookie(
        KNOWN_BROWSER_COOKIE,
        _serializer().dumps([browser or secrets.token_hex(16), accounts]),
        max_age=current_app.config["LOGIN_KNOWN_BROWSER_DAYS"] * 86400,
        path=request.root_path + "/login",  # sent to the sign-in page only
        secure=current_app.config["SESSION_COOKIE_SECURE"] or request.is_secure,
        httponly=True,
        samesite="Lax",
    )
    return response


def refusal(limit: RequestLimit) -> Response:
    """The sign-in page again, saying how long to wait: a 429 that names its end."""
    wait_s = max(1, math.ceil(limit.reset_at - time.time()))
    message = _(
        "Too many attempts to sign in to this account. Wait %(minutes)d min, then try again. "
        "A browser that signed in to this account before is not held up.",
        minutes=math.ceil(wait_s / 60),
    )
    page = render_template("auth/login.html", form=SignInForm(), refusal=message)
    return current_app.response_class(page, status=429, headers={"Retry-After": str(wait_s)}, mimetype="text/html")
