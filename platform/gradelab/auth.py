"""Sign up, sign in, sign out."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from .db import db
from .forms import SignInForm, SignUpForm
from .models import User
from .passwords import hash_password, is_password_of
from .security import limiter
from .urls import safe_next_url

bp = Blueprint("auth", __name__)


@bp.route("/signup", methods=["GET", "POST"])
def signup() -> Response | tuple[str, int] | str:
    form = SignUpForm()
    if form.validate_on_submit():
        email = form.email.data.strip().lower()
        if db.session.scalar(select(User.id).where(User.email == email)) is not None:
            form.email.errors.append(_("An account with this email already exists."))
        else:
            user = User(email=email, name=form.name.data.strip(), password_hash=hash_password(form.password.data))
            db.session.add(user)
            db.session.commit()
            login_user(user)
            return redirect(url_for("student.index"))
    status = 400 if request.method == "POST" else 200
    return render_template("auth/signup.html", form=form), status


def _count_failed_sign_in(response: Response) -> bool:
    """Only failed attempts use up the limit: a student who types the password right is never slowed."""
    return response.status_code == 401


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"], deduct_when=_count_failed_sign_in)
def login() -> Response | tuple[str, int] | str:
    if current_user.is_authenticated:
        return redirect(url_for("student.index"))
    form = SignInForm()
    if form.validate_on_submit():
        user = db.session.scalar(select(User).where(User.email == form.email.data.strip().lower()))
        if user is not None and is_password_of(user, form.password.data):
            login_user(user)
            return redirect(safe_next_url(request.args.get("next")))
        flash(_("Wrong email or password."), "error")
        return render_template("auth/login.html", form=form), 401
    status = 400 if request.method == "POST" else 200
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
@login_required
def logout() -> Response:
    logout_user()
    return redirect(url_for("auth.login"))
