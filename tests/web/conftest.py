"""Fixtures for the site: an app on a fresh migrated SQLite database, grading on the shared warm pool."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from gradelab.queue import grading_queue
from site_helpers import Auth, make_app


@pytest.fixture
def app(tmp_path: Path, pool) -> Iterator[Flask]:
    app = make_app(tmp_path, pool)
    yield app
    grading_queue(app).close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def auth(client: FlaskClient) -> Auth:
    return Auth(client)

