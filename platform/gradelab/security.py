"""Sessions, sign-in, CSRF and rate limits: the parts of the site that keep one student from another."""

from __future__ import annotations

import hmac
from collections.abc import Callable

from flask import Flask, abort, has_request_context, request
from flask.sessions import SecureCookieSessionInterface
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, current_user
from flask_talisman import Talisman
from flask_wtf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

from .db import db
from .models import User

login_manager = LoginManager()
login_manager.login_view = "auth.login"
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address)

# Every script, style, font and image comes from the site itself (platform/static and the vendored
# node_modules); no page has inline script. Inline *styles* are allowed: Ace and htmx insert <style>
# elements, and KaTeX and Chart.js set style attributes. No other site may frame a page (clickjacking).
CONTENT_SECURITY_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": ["'self'", "'unsafe-inline'"],
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'", "data:"],
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


class HttpsAwareSessionInterface(SecureCookieSessionInterface):
    """Mark the session cookie Secure on every request that came over HTTPS, not only when configured."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or (has_request_context() and request.is_secure)


def init_app(app: Flask) -> None:
    if app.config["PROXY_FIX"]:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)  # type: ignore[method-assign]
    app.session_interface = HttpsAwareSessionInterface()
    app.extensions["talisman"] = Talisman(  # one per app: Talisman keeps the app it serves
        app,
        force_https=False,  # the reverse proxy's job; the embedded default serves plain HTTP on localhost
        session_cookie_secure=False,  # Secure already whenever the request came over HTTPS (above)
        session_cookie_samesite=app.config["SESSION_COOKIE_SAMESITE"],
        frame_options="DENY",
        content_security_policy=CONTENT_SECURITY_POLICY,
        referrer_policy="strict-origin-when-cross-origin",
    )
    login_manager.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)


@login_manager.user_loader
def _load_user(session_id: str) -> User | None:
    """The user a session cookie (or remember cookie) names, while its session token is still theirs."""
    user_id, _, token = session_id.partition(":")
    user = db.session.get(User, int(user_id)) if user_id.isdigit() else None
    if user is None or not token or not hmac.compare_digest(token.encode(), user.session_token.encode()):
        return None
    return user


def only_for(allowed: Callable[[User], bool]) -> Callable[[], None]:
    """A blueprint's `before_request` guard: 403 for visitors and for users `allowed` refuses alike,
    so that an area says nothing, not even "sign in", to anyone outside it."""

    def guard() -> None:
        if not current_user.is_authenticated or not allowed(current_user):
            abort(403)

    return guard
