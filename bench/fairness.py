"""How long one student's fresh submission waits behind another student's backlog, or behind a mass regrade.

The embedded default (SQLite, grading threads over a warm pool of 2 sandboxes). Scenario
*backlog*: Ada sends N slow submissions at once (each sleeps S seconds, then is correct), then Bob
sends the seed solution. Scenario *regrade*: an instructor regrades 100 submissions, then Bob
submits. It prints Bob's wait, from stored to graded (from his submission's own events), and how
many of Ada's were accepted. The baseline is the same script on the code before the change:

    .venv/bin/python bench/fairness.py [--slow-s 3] [--backlog 6] [--in-flight N]
    PYTHONPATH=<old checkout>:<old checkout>/platform .venv/bin/python bench/fairness.py
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import gradelab  # noqa: E402
from grading_order import SEED, grading_wait_s, queued_wait_s, regrade_outdated, seed_outdated_submissions, slow_seed, wait_final  # noqa: E402
from site_helpers import make_app, signed_in_client, submission_id, submit  # noqa: E402

from gradelab.queue import grading_queue  # noqa: E402
from grader.grading import warm_up  # noqa: E402
from grader.pool import SandboxPool  # noqa: E402
from grader.spec import load_catalog  # noqa: E402


def bobs_wait_behind_a_backlog(pool: SandboxPool, config: dict, slow_s: float, backlog: int) -> tuple[tuple[float, float], int]:
    """Bob's waits in seconds (for a sandbox, for his grade), and how many of Ada's `backlog` submissions the site accepted."""
    with tempfile.TemporaryDirectory() as folder:
        app = make_app(Path(folder), pool, **config)
        try:
            ada, bob = signed_in_client(app, "ada@example.com", "Ada"), signed_in_client(app, "bob@example.com", "Bob")
            answers = [submit(ada, "linear", slow_seed(slow_s, n)) for n in range(backlog)]
            bobs = submission_id(submit(bob, "linear", SEED))
            row = wait_final(app, [bobs], timeout_s=600)[bobs]
            assert row.score == 100, row.status
            return (queued_wait_s(row), grading_wait_s(row)), sum(answer.status_code == 303 for answer in answers)
        finally:
            grading_queue(app).close()


def bobs_wait_behind_a_regrade(pool: SandboxPool, config: dict, count: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as folder:
        app = make_app(Path(folder), pool, **config)
        try:
            seed_outdated_submissions(app, count)
            bob, teacher = signed_in_client(app, "bob@example.com", "Bob"), signed_in_client(app, "t@example.com", "T", "instructor")
            regrade_outdated(teacher)
            bobs = submission_id(submit(bob, "linear", SEED))
            row = wait_final(app, [bobs], timeout_s=600)[bobs]
            assert row.score == 100, row.status
            return queued_wait_s(row), grading_wait_s(row)
        finally:
            grading_queue(app).close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--slow-s", type=float, default=3.0, help="how long each of Ada's submissions sleeps")
    parser.add_argument("--backlog", type=int, default=6, help="how many Ada sends at once")
    parser.add_argument("--regrade", type=int, default=100, help="submissions in the mass regrade")
    parser.add_argument("--in-flight", type=int, default=None, help="GRADELAB_MAX_SUBMISSIONS_IN_FLIGHT (default: the site's)")
    parser.add_argument("--sandboxes", type=int, default=2)
    args = parser.parse_args()
    config = {"GRADING_WORKERS": args.sandboxes, "LOGIN_RATE_LIMIT": "1000 per minute"}
    if args.in_flight is not None:
        config["MAX_SUBMISSIONS_IN_FLIGHT"] = args.in_flight
    print(f"code: {Path(gradelab.__file__).parent}; {args.sandboxes} sandboxes; in-flight limit {args.in_flight or 'default'}")
    with SandboxPool(args.sandboxes) as pool:
        pool.wait_ready()
        warm_up([load_catalog(ROOT / "exercises")["linear"]], pool)
        started = time.perf_counter()
        (queued_s, graded_s), accepted = bobs_wait_behind_a_backlog(pool, config, args.slow_s, args.backlog)
        print(f"backlog: Ada sent {args.backlog} x {args.slow_s:g} s, {accepted} accepted; Bob waited {queued_s:.2f} s for a sandbox, {graded_s:.2f} s for his grade")
        queued_s, graded_s = bobs_wait_behind_a_regrade(pool, config, args.regrade)
        print(f"regrade: {args.regrade} submissions queued first; Bob waited {queued_s:.2f} s for a sandbox, {graded_s:.2f} s for his grade")
        print(f"({time.perf_counter() - started:.0f} s in all)")


if __name__ == "__main__":
    main()
