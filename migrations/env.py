"""Alembic's environment: the platform's models, on the running app's database or $GRADELAB_DATABASE_URL."""

from __future__ import annotations

import os
from logging.config import fileConfig
from typing import Any

from alembic import context
from flask import current_app
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine

from gradelab.models import Base

config = context.config
if config.config_file_name is not None:
    # Keep the loggers the app set up: Alembic's default would silence every logger it did not name.
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def _engine_and_options() -> tuple[Engine, dict[str, Any]]:
    """Flask-Migrate's engine and options inside the app; a plain engine for a bare `alembic` run."""
    if current_app:
        migrate = current_app.extensions["migrate"]
        return migrate.db.engine, dict(migrate.configure_args)
    return create_engine(os.environ["GRADELAB_DATABASE_URL"]), {"render_as_batch": True}


def run_offline() -> None:
    engine, options = _engine_and_options()
    context.configure(url=engine.url, target_metadata=Base.metadata, literal_binds=True, **options)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    engine, options = _engine_and_options()
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=Base.metadata, **options)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
