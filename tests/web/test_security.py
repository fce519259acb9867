"""Cookies, error pages and an unreachable database."""

from __future__ import annotations

from gradelab.queue import grading_queue
from site_helpers import make_app


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
    from gradelab.db import db
    from site_helpers import Auth

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
