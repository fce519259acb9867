"""The docker-compose topology, run natively: PostgreSQL and Redis of the machine, gunicorn, two workers."""

from __future__ import annotations

import re
import time
import uuid
from pathlib import Path

import pytest
from live_services import Gunicorn, HttpClient, Worker, postgres_database, prepare, service_environment
from site_helpers import client_token, csrf_token
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[2]
SEED = (ROOT / "exercises/linear/solutions/seed.py").read_text()
MISTAKE = (ROOT / "exercises/linear/mistakes/no_zero_grad.py").read_text()
MACHINE_REDIS = "redis://127.0.0.1:6379/0"


@pytest.mark.slow
def test_gunicorn_and_two_workers_grade_over_http(tmp_path):
    with postgres_database() as database_url:
        environment = service_environment(
            DATABASE_URL=database_url,
            GRADING_BACKEND="celery",
            BROKER_URL=MACHINE_REDIS,
            GRADING_QUEUE=f"grading-{uuid.uuid4().hex[:8]}",  # this test's own queue on the shared Redis
            SECRET_KEY="topology",
            DEMO_ACCOUNTS="1",
            MAX_SUBMISSIONS_IN_FLIGHT="6",  # the six below are sent at once; the limit has its own tests
        )
        printed = prepare(tmp_path, environment)
        email, password = re.search(r"student\s+(\S+)\s+password: (\S+)", printed).groups()
        web = Gunicorn(tmp_path, environment)
        workers = [Worker(tmp_path, f"worker-{n}", environment) for n in range(2)]
        try:
            for worker in workers:
                worker.wait_ready()
            browser = HttpClient(web.url)
            page = browser.get("/login")[2]
            assert browser.post("/login", {"csrf_token": csrf_token(page), "email": email, "password": password})[1].endswith("/")
            urls = []
            for source in [SEED, MISTAKE] * 3:
                page = browser.get("/exercises/linear")[2]
                urls.append(browser.post("/exercises/linear/submit", {"csrf_token": csrf_token(page), "client_token": client_token(page), "source": source})[1])
            scores = []
            deadline = time.monotonic() + 90
            for url in urls:
                path = url.removeprefix(web.url) + "/result"
                while 'data-status="graded"' not in (page := browser.get(path)[2]) and time.monotonic() < deadline:
                    time.sleep(0.2)
                scores.append(re.search(r'id="score">(\d+) / 100', page).group(1))
            assert scores == ["100", "45"] * 3
        finally:
            for worker in workers:
                worker.stop()
            web.stop()
        engine = create_engine(database_url)
        with engine.connect() as connection:
            per_submission = connection.execute(text("SELECT count(*) FROM grade_results GROUP BY submission_id")).scalars().all()
        engine.dispose()
        assert per_submission == [1] * 6
