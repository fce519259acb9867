"""A signed-in user's own settings: API tokens for `gradelab submit` and scripts."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from .db import db
from .forms import ActionForm, TokenForm
from .tokens import issue_token, revoke_token, tokens_of

bp = Blueprint("account", __name__, url_prefix="/account")


@bp.before_request
@login_required
def _signed_in() -> None:
    """Every page here is the user's own."""


@bp.get("/tokens")
def tokens() -> str:
    return _tokens_page(TokenForm(), new_token=None)


@bp.post("/tokens")
def create_token() -> Response | tuple[str, int] | str:
    form = TokenForm()
    if not form.validate_on_submit():
        return _tokens_page(form, new_token=None), 400
    token = issue_token(db.session, current_user, form.name.data.strip())
    return _tokens_page(TokenForm(formdata=None), new_token=token)  # shown this once, never stored in clear


@bp.post("/tokens/<int:token_id>/revoke")
def revoke(token_id: int) -> Response:
    if ActionForm().validate_on_submit() and revoke_token(db.session, current_user, token_id):
        flash(_("Token revoked."), "info")
    return redirect(url_for(".tokens"), 303)


def _tokens_page(form: TokenForm, new_token: str | None) -> str:
    return render_template("account/tokens.html", form=form, new_token=new_token, tokens=tokens_of(db.session, current_user))
