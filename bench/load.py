"""A burst of submissions over HTTP to the scale-out topology, and how fast they come back graded.

Runs natively what docker-compose.yml describes: the machine's PostgreSQL (a fresh database) and
Redis (a queue of its own), gunicorn with 2 processes, and `gradelab worker` processes (2 by
default, one sandboxed worker each, for the 2 cores). Simulated students sign up, then all send
their submissions at once (every correct solution and labelled mistake of `linear`, cycled).
It prints the throughput, p50 and p99 from submit to graded (from the submission's own timed
events), and checks that every submission has exactly one result. Baseline in the same run:
`grade_submission` on an in-process pool of the same size, with no web, database or queue.

    .venv/bin/python bench/load.py [--submissions 1000] [--students 20] [--workers 2]
"""

from __future__ import annotations

import argparse
import collections
import itertools
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import processes  # noqa: E402
from live_services import Gunicorn, HttpClient, Worker, postgres_database, prepare, service_environment  # noqa: E402
from site_helpers import client_token, csrf_token  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from grader.grading import grade_submission, warm_up  # noqa: E402
from grader.pool import SandboxPool  # noqa: E402
from grader.spec import load_catalog  # noqa: E402

MACHINE_REDIS = "redis://127.0.0.1:6379/0"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def sources() -> list[str]:
    exercise = load_catalog(ROOT / "exercises")["linear"]
    return [f.path.read_text() for f in exercise.solutions() + exercise.mistakes()]


def baseline_per_s(count: int, workers: int) -> float:
    """Graded per second by an in-process pool, `workers` clients at a time."""
    exercise = load_catalog(ROOT / "exercises")["linear"]
    with SandboxPool(workers) as pool:
        pool.wait_ready()
        warm_up([exercise], pool)
        batch = list(itertools.islice(itertools.cycle(sources()), count))
        started = time.perf_counter()
        with ThreadPoolExecutor(workers * 2) as clients:
            list(clients.map(lambda source: grade_submission(exercise, source, pool), batch))
        return count / (time.perf_counter() - started)


def student(base: str, number: int, batch: list[str]) -> int:
    """Sign up, then send `batch` as fast as the site answers; how many were accepted."""
    client = HttpClient(base)
    page = client.get("/signup")[2]
    form = {"csrf_token": csrf_token(page), "name": f"S{number}", "email": f"s{number}@load.test", "password": "load password"}
    client.post("/signup", {**form, "confirm": form["password"]})
    accepted = 0
    for source in batch:
        page = client.get("/exercises/linear")[2]
        status, url, _ = client.post(
            "/exercises/linear/submit", {"csrf_token": csrf_token(page), "client_token": client_token(page), "source": source}
        )
        accepted += "/submissions/" in url
    return accepted


def wait_graded(engine, count: int, timeout_s: float) -> bool:
    """Until `count` submissions reach a final status; False on timeout."""
    deadline = time.monotonic() + timeout_s
    with engine.connect() as connection:
        while time.monotonic() < deadline:
            done = connection.execute(text("SELECT count(*) FROM submissions WHERE status IN ('graded', 'error')")).scalar()
            if done >= count:
                return True
            time.sleep(0.5)
            connection.rollback()
    return False


def keep_logs(folder: Path) -> Path:
    """The web and worker logs, kept after the run for a look at what went wrong."""
    kept = ROOT / "test-artifacts" / "load"
    kept.mkdir(parents=True, exist_ok=True)
    for log in folder.glob("*.log"):
        shutil.copy(log, kept / log.name)
    return kept


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--submissions", type=int, default=1000)
    parser.add_argument("--students", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=600, help="seconds to wait for the last grade")
    args = parser.parse_args()
    per_student = args.submissions // args.students
    total = per_student * args.students
    pool = list(itertools.islice(itertools.cycle(sources()), total))
    batches = [pool[n * per_student : (n + 1) * per_student] for n in range(args.students)]
    with postgres_database() as database_url, tempfile.TemporaryDirectory() as folder:
        environment = service_environment(
            DATABASE_URL=database_url,
            GRADING_BACKEND="celery",
            BROKER_URL=MACHINE_REDIS,
            GRADING_QUEUE=f"load-{uuid.uuid4().hex[:8]}",
            SECRET_KEY="load",
            DEMO_ACCOUNTS="0",
            LOGIN_RATE_LIMIT="1000 per minute",
            MAX_SUBMISSIONS_IN_FLIGHT=str(args.submissions),  # a burst test: each student sends all of theirs at once
        )
        prepare(Path(folder), environment)
        engine = create_engine(database_url)
        web, workers = None, []
        try:
            web = Gunicorn(Path(folder), environment)
            for n in range(args.workers):
                workers.append(Worker(Path(folder), f"worker-{n}", environment))
            for worker in workers:
                worker.wait_ready()
            started = time.perf_counter()
            with ThreadPoolExecutor(args.students) as clients:
                accepted = sum(clients.map(lambda n: student(web.url, n, batches[n]), range(args.students)))
            sent_s = time.perf_counter() - started
            finished = wait_graded(engine, total, timeout_s=args.timeout)
        finally:
            try:
                processes.call_each([*(worker.stop for worker in workers), *([web.stop] if web else [])])
            finally:
                kept = keep_logs(Path(folder))
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT s.id, s.status, min(e.created_at) FILTER (WHERE e.status = 'queued'), max(e.created_at) FILTER (WHERE e.status = 'graded'),"
                    " (SELECT count(*) FROM grade_results r WHERE r.submission_id = s.id)"
                    " FROM submissions s JOIN submission_events e ON e.submission_id = s.id GROUP BY s.id, s.status"
                )
            ).all()
        engine.dispose()
    by_status = collections.Counter(r[1] for r in rows)
    if not finished:
        print(f"NOT FINISHED after {args.timeout:.0f} s: {dict(by_status)}; logs in {kept}")
    latencies = [(graded - queued).total_seconds() * 1000 for _, _, queued, graded, _ in rows if graded]
    span_s = (max(r[3] for r in rows if r[3]) - min(r[2] for r in rows)).total_seconds()
    print(
        f"burst of {total} submissions over HTTP from {args.students} students; gunicorn x2, {args.workers} workers x 1 sandbox, PostgreSQL, Redis"
    )
    print(f"  accepted by the site: {accepted}, stored: {len(rows)}, by status: {dict(by_status)}, sent in {sent_s:.1f} s")
    print(f"  exactly one result each: {all(r[4] == 1 for r in rows)} (results per submission: {sorted({r[4] for r in rows})})")
    print(f"  throughput: {len(latencies) / span_s:.1f} graded/s (first submit to last grade: {span_s:.1f} s)")
    print(f"  submit -> graded: p50 {statistics.median(latencies):.0f} ms, p99 {percentile(latencies, 0.99):.0f} ms (the burst queues up)")
    print(
        f"baseline, same machine, same run: grade_submission on an in-process pool of {args.workers}: {baseline_per_s(200, args.workers):.1f} graded/s"
    )


if __name__ == "__main__":
    main()
