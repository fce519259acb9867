"""The database: one Flask-SQLAlchemy handle, and SQLite made fit for a threaded server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import event
from sqlalchemy.engine import Engine

from .instance import protect_sqlite_database
from .models import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate(render_as_batch=True)  # SQLite alters tables by copying them


def init_app(app: Flask) -> None:
    options = app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {})
    # A database that restarted or went away and came back: test each pooled connection before use.
    options.setdefault("pool_pre_ping", True)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        # Grading threads write while page threads read: wait for a lock instead of failing at once.
        options.setdefault("connect_args", {}).setdefault("timeout", 30)
    db.init_app(app)
    migrate.init_app(app, db, directory=app.config["MIGRATIONS_DIR"])


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    """WAL lets readers go on while the grader commits; foreign keys are off by default in SQLite."""
    if type(connection).__module__.startswith("sqlite3"):
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


@event.listens_for(Engine, "do_connect")
def _private_sqlite_file(dialect: Any, _record: Any, arguments: list[Any], _options: dict[str, Any]) -> None:
    """The database holds every password hash and submission: readable by its owner only."""
    if dialect.name == "sqlite" and arguments and isinstance(arguments[0], str) and arguments[0] not in ("", ":memory:"):
        if not arguments[0].startswith("file:"):
            protect_sqlite_database(Path(arguments[0]))
