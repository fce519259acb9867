"""Sign up, sign in, sign out."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from .db import db
from .emails import email_key, normalized_email
from .forms import SignInForm, SignUpForm
from .lockout import limited_sign_in, remember_browser
from .models import User
from .passwords import hash_password, is_password_of
from .urls import safe_next_url

bp = Blueprint("auth", __name__)


@bp.route("/signup", methods=["GET", "POST"])
def signup() -> Response | tuple[str, int] | str:
    form = SignUpForm()
    if form.validate_on_submit():
        try:
            email = normalized_email(form.email.data)
        except ValueError as invalid:
            form.email.errors.append(_("Enter an email address: %(reason)s", reason=str(invalid)))
            return render_template("auth/signup.html", form=form), 400
        if db.session.scalar(select(User.id).where(User.email_key == email_key(email))) is not None:
            form.email.errors.append(_("An account with this email already exists."))
        else:
            user = User(email=email, name=form.name.data.strip(), password_hash=hash_password(form.password.data))
            db.session.add(user)
            db.session.commit()
            login_user(user)
            return remember_browser(redirect(url_for("student.index")), email)
    status = 400 if request.method == "POST" else 200
    return render_template("auth/signup.html", form=form), status


def user_by_email(email: str) -> User | None:
    """The account of an address in any spelling.

    The exact address first: look-alike accounts made before migration 0005 each keep their own.
    """
    exact = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    return exact or db.session.scalar(select(User).where(User.email_key == email_key(email)))


@bp.route("/login", methods=["GET", "POST"])
@limited_sign_in
def login() -> Response | tuple[str, int] | str:
    if current_user.is_authenticated:
        return redirect(url_for("student.index"))
    form = SignInForm()
    if form.validate_on_submit():
        user = user_by_email(form.email.data)
        if user is not None and is_password_of(user, form.password.data):
            login_user(user)
            return remember_browser(redirect(safe_next_url(request.args.get("next"))), user.email)
        flash(_("Wrong email or password."), "error")
        return render_template("auth/login.html", form=form), 401
    status = 400 if request.method == "POST" else 200
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
@login_required
def logout() -> Response:
    current_user.end_sessions()  # a copy of this session's cookie, or a remember cookie, is now worthless
    db.session.commit()
    logout_user()
    return redirect(url_for("auth.login"))
