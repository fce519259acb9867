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


# The reliability tests send bursts from one student; the per-student limit has its own tests (test_fair_grading.py, web/test_fairness.py).
BURST_IN_FLIGHT = 1000


@pytest.fixture
def make_site(tmp_path: Path, settings: dict[str, str]) -> Iterator[Callable[..., Flask]]:
    """Web apps on PostgreSQL, sending jobs to Redis; they grade nothing themselves."""
    made: list[Flask] = []

    def make(**config: object) -> Flask:
        app = make_app(
            tmp_path,
            None,
            SQLALCHEMY_DATABASE_URI=settings["DATABASE_URL"],
            GRADING_BACKEND="celery",
            BROKER_URL=settings["BROKER_URL"],
            GRADING_QUEUE=settings["GRADING_QUEUE"],
            GRADING_LEASE_S=float(LEASE_S),
            **config,
        )
        made.append(app)
        return app

    yield make
    from gradelab.db import db

    for app in made:
        grading_queue(app).close()
        with app.app_context():
            db.engine.dispose()


@pytest.fixture
def site(make_site: Callable[..., Flask]) -> Flask:
    return make_site(MAX_SUBMISSIONS_IN_FLIGHT=BURST_IN_FLIGHT)


@pytest.fixture
def start_worker(tmp_path: Path, settings: dict[str, str]) -> Iterator[Callable[..., Worker]]:
    started: list[Worker] = []

    def start(name: str, concurrency: int = 1) -> Worker:
        worker = Worker(tmp_path, name, service_environment(**settings), concurrency)
        started.append(worker)
        return worker

    yield start
    processes.call_each(worker.stop for worker in started)
