"""Cookies, error pages and an unreachable database."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner
from gradelab import create_app
from gradelab.cli import main as gradelab_main
from gradelab.db import db
from gradelab.models import User
from gradelab.queue import grading_queue
from gradelab.tokens import issue_token
from live_services import postgres_database
from site_helpers import PASSWORD, Auth, csrf_token, graded, make_app
from sqlalchemy import select, text

ROOT = Path(__file__).resolve().parents[2]


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


def test_pages_forbid_framing_sniffing_and_foreign_scripts(client, auth):
    auth.signup()
    for url in ("/login", "/", "/exercises/linear", "/account/tokens", "/no-such-page"):
        headers = client.get(url).headers
        policy = dict(part.strip().split(" ", 1) for part in headers["Content-Security-Policy"].split(";") if part.strip())
        assert policy["frame-ancestors"] == "'none'" and policy["script-src"] == "'self'" and policy["object-src"] == "'none'", url
        assert "unsafe-inline" not in policy["script-src"] and "unsafe-eval" not in headers["Content-Security-Policy"], url
        assert headers["X-Frame-Options"] == "DENY" and headers["X-Content-Type-Options"] == "nosniff", url
        assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin", url
        assert "Strict-Transport-Security" not in headers  # plain HTTP: HSTS only over HTTPS
    assert "Strict-Transport-Security" in client.get("/login", base_url="https://gradelab.example").headers


def file_modes(folder: Path) -> dict[str, int]:
    return {path.name: stat.S_IMODE(path.stat().st_mode) for path in folder.iterdir()}


@pytest.mark.parametrize("install", ["fresh", "older"])
def test_the_instance_folder_and_its_files_are_the_owners_only(tmp_path, monkeypatch, install):
    instance = tmp_path / "instance"
    monkeypatch.setenv("GRADELAB_INSTANCE_PATH", str(instance))
    for name in ("GRADELAB_DATABASE_URL", "GRADELAB_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    if install == "older":  # made before this rule: a 0755 folder, world-readable files
        instance.mkdir(mode=0o755)
        (instance / "secret_key").write_text("an old key")
        for name in ("secret_key", "gradelab.sqlite"):
            (instance / name).touch()
            (instance / name).chmod(0o644)
    previous_umask = os.umask(0o022)  # the usual default, under which new files are world-readable
    try:
        result = CliRunner().invoke(
            gradelab_main,
            ["--exercises", str(ROOT / "exercises"), "prepare", "--instance", str(instance)],
        )
        assert result.exit_code == 0, result.output
        app = create_app({"TESTING": True}, runner=object())  # the served site, on the instance's files
        with app.app_context():
            with db.engine.connect() as connection:  # an open connection: the WAL and its index exist now
                connection.execute(text("UPDATE users SET name = name"))
                connection.commit()
                modes = file_modes(instance)
        db_modes = {name: mode for name, mode in modes.items() if name.startswith("gradelab.sqlite")}
        assert set(db_modes) >= {"gradelab.sqlite", "gradelab.sqlite-wal", "gradelab.sqlite-shm"}
        assert modes == dict.fromkeys(modes, 0o600) and {"secret_key", "demo_accounts.json"} <= set(modes), modes
        assert stat.S_IMODE(instance.stat().st_mode) == 0o700
    finally:
        os.umask(previous_umask)
