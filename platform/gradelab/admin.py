"""The admin's page: who is a student, an instructor or an admin."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select
from werkzeug.wrappers import Response

from .db import db
from .forms import RoleForm
from .models import Role, User
from .security import only_for

bp = Blueprint("admin", __name__, url_prefix="/admin")
bp.before_request(only_for(lambda user: user.is_admin))


@bp.get("/users")
def users() -> str:
    people = db.session.scalars(select(User).order_by(User.role, User.name)).all()
    return render_template(
        "admin/users.html", users=people, forms={user.id: RoleForm(role=user.role.value, prefix=f"u{user.id}") for user in people}
    )


@bp.post("/users/<int:user_id>/role")
def change_role(user_id: int) -> Response:
    user = db.session.get(User, user_id) or abort(404)
    form = RoleForm(prefix=f"u{user.id}")
    if form.validate_on_submit():
        new_role = Role(form.role.data)
        if user.is_admin and new_role != Role.ADMIN and _admin_count() == 1:
            flash(_("The site needs at least one admin."), "error")
        else:
            user.role = new_role
            db.session.commit()
            flash(_("%(name)s is now %(role)s.", name=user.name, role=new_role.value), "info")
    return redirect(url_for(".users"), 303)


def _admin_count() -> int:
    return db.session.scalar(select(func.count(User.id)).where(User.role == Role.ADMIN))
