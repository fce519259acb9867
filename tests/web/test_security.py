"""Cookies, error pages and an unreachable database."""

from __future__ import annotations

import pytest
from gradelab.db import db
from gradelab.models import User
from gradelab.queue import grading_queue
from gradelab.tokens import issue_token
from live_services import postgres_database
from site_helpers import PASSWORD, Auth, csrf_token, graded, make_app
from sqlalchemy import select


def session_cookie_header(response) -> str:
    return next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("session="))


def test_session_cookie_is_httponly_and_samesite(client, auth):
    header = session_cookie_header(auth.signup())
    assert "HttpOnly" in header and "SameSite=Lax" in header
    assert "Secure" not in header  # plain HTTP here: a Secure cookie would never come back


def test_session_cookie_is_secure_over_https(app):
    https = app.test_client()
    header = session_cookie_header(https.get("/login", base_url="https://gradelab.example"))
    assert "Secure" in header and "HttpOnly" in header


def test_behind_a_proxy_the_forwarded_scheme_decides(tmp_path, pool):
    app = make_app(tmp_path, pool, PROXY_FIX=True)
    try:
        response = app.test_client().get("/login", headers={"X-Forwarded-Proto": "https"})
        assert "Secure" in session_cookie_header(response)
    finally:
        grading_queue(app).close()


def test_an_unreachable_database_is_a_503_page_that_recovers(tmp_path, pool):
    app = make_app(tmp_path, pool)
    try:
        client = app.test_client()
        Auth(client).signup()
        database, moved = tmp_path / "gradelab.sqlite", tmp_path / "moved.sqlite"
        with app.app_context():
            db.engine.dispose()  # close pooled connections: the next request must open the file again
        database.rename(moved)
        database.mkdir()  # a folder where the database was: SQLite cannot open it
        down = client.get("/")
        assert down.status_code == 503
        assert "cannot reach its database" in down.get_data(as_text=True)
        database.rmdir()
        moved.rename(database)
        assert client.get("/").status_code == 200  # no restart needed
    finally:
        grading_queue(app).close()


@pytest.fixture(params=["sqlite", "postgresql"])
def any_database_app(request, tmp_path, pool):
    """The site on SQLite and on the machine's PostgreSQL, which refuses NUL in text outright."""
    if request.param == "sqlite":
        app = make_app(tmp_path, pool)
        yield app
        grading_queue(app).close()
        return
    with postgres_database() as url:
        app = make_app(tmp_path, pool, SQLALCHEMY_DATABASE_URI=url)
        try:
            yield app
        finally:
            grading_queue(app).close()
            with app.app_context():
                db.engine.dispose()


NUL_MESSAGE = "contains a NUL character"


def test_a_nul_in_a_form_query_or_path_is_a_400_page(any_database_app):
    app = any_database_app
    client = app.test_client()
    page = client.get("/signup").get_data(as_text=True)
    form = {"csrf_token": csrf_token(page), "name": "Ada\0", "email": "ada@example.com", "password": PASSWORD, "confirm": PASSWORD}
    for response in (
        client.post("/signup", data=form),
        client.post("/login", data={"csrf_token": csrf_token(page), "email": "ada\0@example.com", "password": PASSWORD}),
        client.get("/exercises/lin%00ear"),
        client.get("/login?next=/%00"),
    ):
        assert response.status_code == 400 and response.mimetype == "text/html"
        assert NUL_MESSAGE in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(User.id)) is None
    assert Auth(client).signup().status_code == 302  # the site goes on
    assert client.get("/exercises/linear").status_code == 200


def test_a_nul_in_api_json_is_a_json_400_but_a_nul_in_the_source_is_graded(any_database_app):
    app = any_database_app
    assert Auth(app.test_client()).signup().status_code == 302
    with app.app_context():
        token = issue_token(db.session, db.session.scalar(select(User)), "cli")
    headers = {"Authorization": f"Bearer {token}"}
    api = app.test_client()
    for body in ({"source": "x = 1", "client_token": "a\0b"}, {"source": "x = 1", "extra": [{"deep": "\0"}]}, {"so\0urce": "x"}):
        refused = api.post("/api/v1/exercises/linear/submissions", json=body, headers=headers)
        assert refused.status_code == 400 and refused.is_json, refused.get_data(as_text=True)[:300]
        assert NUL_MESSAGE in refused.get_json()["error"]
    deep = api.post("/api/v1/exercises/linear/submissions", data="[" * 100_000 + "]" * 100_000, headers=headers, content_type="application/json")
    assert deep.status_code == 400 and deep.is_json and "nested too deeply" in deep.get_json()["error"]
    accepted = api.post("/api/v1/exercises/linear/submissions", json={"source": "w = 1\0\n"}, headers=headers)
    assert accepted.status_code == 202, accepted.get_data(as_text=True)[:300]
    assert graded(app, accepted.get_json()["id"]).outcome == "syntax_error"
