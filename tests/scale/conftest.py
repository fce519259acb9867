"""Fixtures for the scale-out tests: PostgreSQL, Redis, `gradelab worker` processes, all real."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import processes
import pytest
from flask import Flask
from live_services import RedisServer, Worker, postgres_database, service_environment
from site_helpers import make_app

from gradelab.queue import grading_queue

# Short leases so that a lost job comes back within the test; still longer than any grade here.
LEASE_S = "6"
SWEEP_S = "0.5"


@pytest.fixture
def database_url() -> Iterator[str]:
    with postgres_database() as url:
        yield url


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def settings(database_url: str, redis: RedisServer) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "GRADING_BACKEND": "celery",
        "BROKER_URL": redis.url,
        "GRADING_QUEUE": f"grading-{uuid.uuid4().hex[:8]}",
        "GRADING_LEASE_S": LEASE_S,
        "SWEEP_INTERVAL_S": SWEEP_S,
        "SECRET_KEY": "scale-test",
    }


@pytest.fixture
def site(tmp_path: Path, settings: dict[str, str]) -> Iterator[Flask]:
    """The web app on PostgreSQL, sending jobs to Redis; it grades nothing itself."""
    app = make_app(
        tmp_path,
        None,
        SQLALCHEMY_DATABASE_URI=settings["DATABASE_URL"],
        GRADING_BACKEND="celery",
        BROKER_URL=settings["BROKER_URL"],
        GRADING_QUEUE=settings["GRADING_QUEUE"],
        GRADING_LEASE_S=float(LEASE_S),
    )
    yield app
    grading_queue(app).close()
    from gradelab.db import db

    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def start_worker(tmp_path: Path, settings: dict[str, str]) -> Iterator[Callable[[str], Worker]]:
    started: list[Worker] = []

    def start(name: str) -> Worker:
        worker = Worker(tmp_path, name, service_environment(**settings))
        started.append(worker)
        return worker

    yield start
    processes.call_each(worker.stop for worker in started)
