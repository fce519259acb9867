"""From the click on "Submit" to the graded result on screen, in a real browser.

The site runs as `gradelab serve` runs it (waitress, SQLite, the in-process warm pool); Debian's
Chromium, driven by Playwright, submits the seed solution of `linear` again and again from the
exercise page and waits until the page, updated by htmx without a reload, shows the score.
Baseline in the same run: `grade_submission` on the same pool, with no web in between, so the
difference is what the site adds (storing, queueing, the redirect, the polling, rendering).

    .venv/bin/python bench/web_submit.py [--submissions 30]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "web"))
sys.path.insert(0, str(ROOT / "tests"))

import waitress  # noqa: E402
from flask import Flask  # noqa: E402
from gradelab.catalog import exercise_catalog  # noqa: E402
from gradelab.queue import grading_queue  # noqa: E402
from playwright.sync_api import expect, sync_playwright  # noqa: E402
from site_helpers import make_app  # noqa: E402
from test_browser import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

from grader.grading import grade_submission, warm_up  # noqa: E402
from grader.pool import SandboxPool  # noqa: E402

SEED = (ROOT / "exercises/linear/solutions/seed.py").read_text()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def start_site(folder: Path, pool: SandboxPool) -> tuple[str, Flask]:
    app = make_app(folder, pool, SECRET_KEY="bench")
    server = waitress.create_server(app, host="127.0.0.1", port=0, threads=8)
    threading.Thread(target=server.run, daemon=True).start()
    app.extensions["bench_server"] = server
    return f"http://127.0.0.1:{server.effective_port}", app


def browser_timings(site: str, count: int) -> list[float]:
    """Milliseconds from the click to the score on screen, one submission at a time."""
    timings = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.goto(f"{site}/signup")
        page.get_by_label("Name").fill("Bench")
        page.get_by_label("Email").fill("bench@example.com")
        page.get_by_label("Password", exact=True).fill("bench password")
        page.get_by_label("Repeat the password").fill("bench password")
        page.get_by_role("button", name="Sign up").click()
        for _ in range(count):
            page.goto(f"{site}/exercises/linear")
            page.evaluate("source => window.gradelabEditor.setValue(source, -1)", SEED)
            started = time.perf_counter()
            page.get_by_role("button", name="Submit").click()
            expect(page.locator("#score")).to_have_text("100 / 100", timeout=60_000)
            timings.append((time.perf_counter() - started) * 1000)
        browser.close()
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--submissions", type=int, default=30)
    args = parser.parse_args()
    with SandboxPool(2) as pool, tempfile.TemporaryDirectory() as folder:
        pool.wait_ready()
        site, app = start_site(Path(folder), pool)
        exercise = exercise_catalog(app)["linear"]
        warm_up([exercise], pool)
        grade_submission(exercise, SEED, pool)  # first grade off the clock
        direct = []
        for _ in range(args.submissions):
            started = time.perf_counter()
            grade_submission(exercise, SEED, pool)
            direct.append((time.perf_counter() - started) * 1000)
        clicks = browser_timings(site, args.submissions)
        app.extensions["bench_server"].close()
        grading_queue(app).close()
    click_p50, direct_p50 = statistics.median(clicks), statistics.median(direct)
    print(f"linear, seed solution, {args.submissions} submissions each, one at a time, 2 warm sandboxes")
    print(f"{'':32}{'p50 ms':>10}{'p99 ms':>10}")
    print(f"{'grade_submission alone':32}{direct_p50:10.1f}{percentile(direct, 0.99):10.1f}")
    print(f"{'browser: click -> score shown':32}{click_p50:10.1f}{percentile(clicks, 0.99):10.1f}")
    print(f"the site adds {click_p50 - direct_p50:.0f} ms at the median ({click_p50 / direct_p50:.1f}x the grading alone)")


if __name__ == "__main__":
    main()
