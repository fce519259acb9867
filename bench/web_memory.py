"""The memory of one web process: gunicorn as docker-compose runs it, torch-free, beside the same with torch.

Runs natively what docker-compose.yml's `web` service runs (`gunicorn --workers 2 --threads 4
"gradelab:create_app()"`, the Celery backend, a fresh database on the machine's PostgreSQL;
nothing is graded, so Redis is never reached), signs in as the demo student and fetches pages
until each gunicorn process has served some, then prints the resident memory of each process.
Baseline in the same run: the same, with the grading engine and torch imported in every gunicorn
process after its fork, as `create_app` did before the web tier stopped importing it. A gunicorn
config file of hooks, passed in GUNICORN_CMD_ARGS, does the forced import and says when each
process has loaded the app and served its first request; the command line stays the compose file's.

    .venv/bin/python bench/web_memory.py [--requests 200] [--backend celery|inprocess]
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import psutil  # noqa: E402
from live_services import Gunicorn, HttpClient, postgres_database, prepare, service_environment  # noqa: E402
from site_helpers import csrf_token  # noqa: E402

PROCESSES = 2  # docker-compose.yml's --workers
PAGES = ("/", "/exercises/linear", "/exercises/linear/submissions", "/account/tokens")
MIB = 1024 * 1024

HOOKS = '''
import os, sys

served = False


def post_fork(server, worker):
    if os.environ.get("GRADELAB_BENCH_IMPORT_TORCH") == "1":
        # What every web process imported before: the grading engine and, through it, torch (the
        # engine now imports torch only where it judges, hence the judge of the `train` kind too).
        import grader.drivers.train.judge  # noqa: F401
        import grader.grading  # noqa: F401


def post_worker_init(worker):
    print(f"bench: process {os.getpid()} loaded the app", file=sys.stderr, flush=True)


def post_request(worker, req, environ, resp):
    global served
    if not served:
        served = True
        print(f"bench: process {os.getpid()} served a request", file=sys.stderr, flush=True)
'''


def pids_saying(log: Path, what: str) -> set[int]:
    return {int(pid) for pid in re.findall(rf"bench: process (\d+) {what}", log.read_text(errors="replace"))}


def wait_until(condition, timeout_s: float, message: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(message)
        time.sleep(0.1)


def measure(folder: Path, environment: dict[str, str], account: tuple[str, str], requests: int) -> list[dict[str, object]]:
    """Start gunicorn, sign in, fetch pages until every process served one, then each process's memory."""
    folder.mkdir()
    web = Gunicorn(folder, environment, workers=PROCESSES)
    try:
        wait_until(lambda: len(pids_saying(web.log, "loaded the app")) == PROCESSES, 120, f"gunicorn did not start: {web.log}")
        browser = HttpClient(web.url)
        page = browser.get("/login")[2]
        signed_in = browser.post("/login", {"csrf_token": csrf_token(page), "email": account[0], "password": account[1]})
        assert signed_in[1].rstrip("/") == web.url, f"sign-in failed: {signed_in[1]}"
        fetched = 0
        with ThreadPoolExecutor(8) as threads:  # at once, so that both processes get some
            while fetched < requests or len(pids_saying(web.log, "served a request")) < PROCESSES:
                statuses = list(threads.map(lambda n: browser.get(PAGES[n % len(PAGES)])[0], range(fetched, fetched + 8)))
                assert set(statuses) == {200}, statuses
                fetched += len(statuses)
                if fetched > 20 * requests:
                    raise RuntimeError("one gunicorn process never got a request")
        time.sleep(1)  # what a request left behind settles
        found = []
        for pid in sorted(pids_saying(web.log, "loaded the app")):
            process = psutil.Process(pid)
            memory = process.memory_full_info()
            maps = Path(f"/proc/{pid}/maps").read_text()
            found.append({"pid": pid, "rss": memory.rss, "pss": memory.pss, "uss": memory.uss, "torch": "libtorch" in maps})
        master = psutil.Process(web.process.pid).memory_info().rss
        return [*found, {"pid": web.process.pid, "rss": master, "master": True}]
    finally:
        web.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200, help="page fetches per run (at least; more until both processes served)")
    parser.add_argument("--backend", choices=["celery", "inprocess"], default="celery", help="the grading backend (compose: celery)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="gradelab-web-memory-") as scratch, postgres_database() as database_url:
        folder = Path(scratch)
        hooks = folder / "bench_hooks.py"
        hooks.write_text(HOOKS)
        environment = service_environment(
            DATABASE_URL=database_url,
            GRADING_BACKEND=args.backend,
            BROKER_URL="redis://127.0.0.1:6379/0",
            GRADING_QUEUE=f"grading-{uuid.uuid4().hex[:8]}",  # nothing is sent: no submission is made
            SECRET_KEY="web-memory",
            DEMO_ACCOUNTS="1",
        )
        environment["GUNICORN_CMD_ARGS"] = f"--config {hooks}"
        printed = prepare(folder, environment)
        account = re.search(r"student\s+(\S+)\s+password: (\S+)", printed).groups()
        runs = {}
        for name, forced in (("torch-free (this tree)", "0"), ("import torch forced (before)", "1")):
            runs[name] = measure(folder / ("torch" if forced == "1" else "plain"), {**environment, "GRADELAB_BENCH_IMPORT_TORCH": forced}, account, args.requests)

    print(f"gunicorn --workers {PROCESSES} --threads 4 'gradelab:create_app()', {args.backend} backend, PostgreSQL; signed in, >= {args.requests} pages fetched")
    print(f"{'':30} {'process':>8} {'RSS MiB':>8} {'PSS MiB':>8} {'USS MiB':>8}  torch")
    means = {}
    for name, found in runs.items():
        for row in found:
            if row.get("master"):
                print(f"{name:30} {'master':>8} {row['rss'] / MIB:8.1f}")
            else:
                print(f"{name:30} {row['pid']:>8} {row['rss'] / MIB:8.1f} {row['pss'] / MIB:8.1f} {row['uss'] / MIB:8.1f}  {'loaded' if row['torch'] else 'no'}")
        means[name] = statistics.mean(row["rss"] for row in found if not row.get("master")) / MIB
    (free, free_rss), (forced, forced_rss) = means.items()
    print(f"mean RSS of a gunicorn worker process: {free_rss:.1f} MiB {free}, {forced_rss:.1f} MiB {forced}: {forced_rss - free_rss:.1f} MiB less ({forced_rss / free_rss:.1f}x)")


if __name__ == "__main__":
    main()
