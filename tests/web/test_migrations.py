"""Migrations: upgrade and downgrade on SQLite and on the machine's PostgreSQL; they match the models."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from gradelab import create_app
from gradelab.db import db
from gradelab.models import Base
from live_services import postgres_database
from sqlalchemy import inspect, text

TABLES = {"users", "exercises", "exercise_versions", "submissions", "submission_events", "grade_results"}


@pytest.fixture
def postgres_url() -> Iterator[str]:
    with postgres_database() as url:
        yield url


def database_urls(tmp_path, postgres_url) -> dict[str, str]:
    return {"sqlite": f"sqlite:///{tmp_path / 'migrations.sqlite'}", "postgresql": postgres_url}


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_migrations_upgrade_match_the_models_and_downgrade(backend, tmp_path, postgres_url):
    app = create_app(
        {"TESTING": True, "SECRET_KEY": "test", "SQLALCHEMY_DATABASE_URI": database_urls(tmp_path, postgres_url)[backend]}, runner=object()
    )
    with app.app_context():
        directory = app.config["MIGRATIONS_DIR"]
        upgrade(directory=directory)
        assert set(inspect(db.engine).get_table_names()) >= TABLES
        with db.engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        assert differences == [], "models and migrations disagree: add a migration (flask --app gradelab db migrate)"
        downgrade(directory=directory, revision="base")
        assert not set(inspect(db.engine).get_table_names()) & TABLES
        upgrade(directory=directory)  # and back up again, from nothing
        assert set(inspect(db.engine).get_table_names()) >= TABLES
        db.engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_results_stored_before_0004_get_their_diagnosis_codes(backend, tmp_path, postgres_url):
    app = create_app(
        {"TESTING": True, "SECRET_KEY": "test", "SQLALCHEMY_DATABASE_URI": database_urls(tmp_path, postgres_url)[backend]}, runner=object()
    )
    report = '{"diagnoses": [{"code": "missing_zero_grad"}, {"code": "wrong_sign"}, {"code": "missing_zero_grad"}]}'
    with app.app_context():
        directory = app.config["MIGRATIONS_DIR"]
        upgrade(directory=directory, revision="0003")
        with db.engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO users (id, email, name, password_hash, role, created_at) VALUES (1, 'a@b.c', 'A', 'x', 'student', CURRENT_TIMESTAMP)"
                )
            )
            connection.execute(
                text("INSERT INTO exercises (id, slug, position, published, created_at) VALUES (1, 'linear', 0, TRUE, CURRENT_TIMESTAMP)")
            )
            connection.execute(
                text(
                    "INSERT INTO exercise_versions (id, exercise_id, version, title_en, title_zh, statement_en, statement_zh, starter, max_score,"
                    " max_source_bytes, created_at) VALUES (1, 1, 'v1', 't', 't', 's', 's', '', 100, 1000, CURRENT_TIMESTAMP)"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO submissions (id, user_id, exercise_id, exercise_version_id, source, status, created_at, updated_at)"
                    " VALUES (1, 1, 1, 1, :source, 'graded', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                ),
                {"source": b"x = 1"},
            )
            connection.execute(
                text(
                    "INSERT INTO grade_results (id, submission_id, exercise_version, score, max_score, outcome, report, created_at)"
                    " VALUES (1, 1, 'v1', 45, 100, 'ok', :report, CURRENT_TIMESTAMP)"
                ),
                {"report": report},
            )
        upgrade(directory=directory)
        with db.engine.connect() as connection:
            assert connection.execute(text("SELECT diagnosis_codes FROM grade_results")).scalar() == "missing_zero_grad wrong_sign"
        db.engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_accounts_made_before_0005_get_email_keys_and_look_alikes_keep_signing_in(backend, tmp_path, postgres_url):
    from gradelab.passwords import hash_password
    from site_helpers import csrf_token

    app = create_app(
        {"TESTING": True, "SECRET_KEY": "test", "SQLALCHEMY_DATABASE_URI": database_urls(tmp_path, postgres_url)[backend]}, runner=object()
    )
    emails = {1: "ivan@example.com", 2: "\u0130van@example.com".lower(), 3: "bob@example.com"}  # 2 looks like 1
    with app.app_context():
        directory = app.config["MIGRATIONS_DIR"]
        upgrade(directory=directory, revision="0004")
        with db.engine.begin() as connection:
            for user_id, email in emails.items():
                connection.execute(
                    text(
                        "INSERT INTO users (id, email, name, password_hash, role, created_at)"
                        " VALUES (:id, :email, :name, :hash, 'student', CURRENT_TIMESTAMP)"
                    ),
                    {"id": user_id, "email": email, "name": f"user {user_id}", "hash": hash_password(f"password of {user_id}")},
                )
        upgrade(directory=directory)
        with db.engine.connect() as connection:
            rows = connection.execute(text("SELECT id, email_key, session_token FROM users ORDER BY id")).all()
        db.engine.dispose()
    assert [(user_id, key) for user_id, key, _ in rows] == [(1, "ivan@example.com"), (2, "2#ivan@example.com"), (3, "bob@example.com")]
    assert len({token for _, _, token in rows}) == 3 and all(len(token) == 32 for _, _, token in rows)
    for user_id, email in emails.items():
        client = app.test_client()
        form = {"csrf_token": csrf_token(client.get("/login").get_data(as_text=True)), "email": email, "password": f"password of {user_id}"}
        assert client.post("/login", data=form).status_code == 302, email
        assert f"user {user_id}" in client.get("/").get_data(as_text=True)
    with app.app_context():
        db.engine.dispose()
