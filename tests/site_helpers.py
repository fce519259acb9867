"""Helpers to drive the site as a browser does: forms with their tokens, sign-up, submitting."""

from __future__ import annotations

import re
from io import BytesIO
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from gradelab import create_app
from gradelab.catalog import exercise_catalog, sync_catalog
from gradelab.db import db
from gradelab.models import Submission
from gradelab.queue import grading_queue

ROOT = Path(__file__).resolve().parent.parent
CSRF_FIELD = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')
TOKEN_FIELD = re.compile(r'name="client_token" type="hidden" value="([^"]+)"')
PASSWORD = "correct horse battery"


def make_app(tmp_path: Path, runner, **config) -> Flask:
    """The site on a migrated database (SQLite in `tmp_path` unless configured), exercises loaded."""
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'gradelab.sqlite'}",
            "EXERCISES_DIR": str(ROOT / "exercises"),
            **config,
        },
        runner=runner,
    )
    with app.app_context():
        upgrade(directory=app.config["MIGRATIONS_DIR"])
        sync_catalog(db.session, exercise_catalog(app))
    return app


def csrf_token(html: str) -> str:
    match = CSRF_FIELD.search(html)
    assert match, "the page has no CSRF field"
    return match.group(1) or match.group(2)


def client_token(html: str) -> str:
    match = TOKEN_FIELD.search(html)
    assert match, "the exercise page has no submission token"
    return match.group(1)


class Auth:
    """Sign-up and sign-in through the real forms, CSRF tokens included."""

    def __init__(self, client: FlaskClient) -> None:
        self._client = client

    def signup(self, email: str = "ada@example.com", name: str = "Ada", password: str = PASSWORD):
        token = csrf_token(self._client.get("/signup").get_data(as_text=True))
        form = {"csrf_token": token, "name": name, "email": email, "password": password, "confirm": password}
        return self._client.post("/signup", data=form)

    def login(self, email: str = "ada@example.com", password: str = PASSWORD):
        token = csrf_token(self._client.get("/login").get_data(as_text=True))
        return self._client.post("/login", data={"csrf_token": token, "email": email, "password": password})

    def logout(self):
        token = csrf_token(self._client.get("/").get_data(as_text=True))
        return self._client.post("/logout", data={"csrf_token": token})


def submit(client: FlaskClient, slug: str, source: str | None = None, upload: bytes | None = None, **extra):
    """Open the exercise page and send its form, as a browser would."""
    page = client.get(f"/exercises/{slug}").get_data(as_text=True)
    form = {"csrf_token": csrf_token(page), "client_token": client_token(page), "source": source or "", **extra}
    if upload is not None:
        form["upload"] = (BytesIO(upload), "solution.py")
    return client.post(f"/exercises/{slug}/submit", data=form, content_type="multipart/form-data")


def submission_id(response) -> int:
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    return int(response.headers["Location"].rsplit("/", 1)[1])


def graded(app: Flask, submission: int, timeout_s: float = 60) -> Submission:
    assert grading_queue(app).join(timeout_s), "grading did not finish"
    return stored_submission(app, submission)


def stored_submission(app: Flask, submission: int) -> Submission:
    with app.app_context():
        found = db.session.get(Submission, submission)
        assert found.events and found.results is not None  # loaded now, before the session closes
        db.session.expunge(found)
        return found


def give_role(app: Flask, email: str, role: str) -> None:
    """What `gradelab users create --role` or the admin page does, straight in the database."""
    from gradelab.models import Role, User
    from sqlalchemy import select

    with app.app_context():
        db.session.scalar(select(User).where(User.email == email)).role = Role(role)
        db.session.commit()


def signed_in_client(app: Flask, email: str, name: str, role: str = "student") -> FlaskClient:
    client = app.test_client()
    assert Auth(client).signup(email=email, name=name).status_code == 302
    if role != "student":
        give_role(app, email, role)
    return client
