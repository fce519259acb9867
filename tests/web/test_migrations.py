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
