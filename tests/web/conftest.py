"""Fixtures for the site: an app on a fresh migrated SQLite database, grading on the shared warm pool.

A test marked `grades_nothing` (the routes of accounts, roles, tokens...) gets a site whose queue is
real but whose Runner is a `fakes.FakeRunner`: it needs neither the sandbox nor torch, and fails if any
of its submissions reaches grading.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fakes import FakeRunner
from flask import Flask
from flask.testing import FlaskClient
from gradelab.queue import grading_queue
from site_helpers import Auth, make_app

from grader.sandbox import Runner


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "grades_nothing: the site's Runner is a FakeRunner, which refuses to grade")


@pytest.fixture
def runner(request: pytest.FixtureRequest) -> Iterator[Runner]:
    """The shared warm pool; a FakeRunner for a test marked `grades_nothing`."""
    if request.node.get_closest_marker("grades_nothing") is None:
        yield request.getfixturevalue("pool")
        return
    fake = FakeRunner()
    yield fake
    assert fake.asked == [], "a test marked grades_nothing graded a submission"  # after the app's queue closed


@pytest.fixture
def app(tmp_path: Path, runner: Runner) -> Iterator[Flask]:
    app = make_app(tmp_path, runner)
    yield app
    grading_queue(app).close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def auth(client: FlaskClient) -> Auth:
    return Auth(client)
