"""Grading time with warm sandboxes, side by side with a fresh process per submission.

Both sides grade the same submissions through `grade_submission` in the bubblewrap sandbox,
comparison included. Warm: a pool of sandboxes that imported torch once and fork a child per
submission (two at once when a second sandbox is idle).
Naive: for each submission, a new sandbox (so a new Python that imports torch) that is
thrown away afterwards. The submissions cycle through every correct solution and labelled
mistake of the exercise. Prints medians, p99, sustained throughput, the ratio, and the memory
of a warm sandbox.
Floor: the reference solution's own training loop, run here with no sandbox, no recording and
no judging: what any correct submission computes, so the machine's speed shows in the same run.

    .venv/bin/python bench/grading.py [--exercise linear] [--submissions 200] [--naive 8]
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader.drivers.train.loop import install_parameters, test_input, training_samples  # noqa: E402
from grader.drivers.train.reference import job_cases  # noqa: E402
from grader.drivers.train.trace import Case  # noqa: E402
from grader.grading import grade_submission, warm_up  # noqa: E402
from grader.pool import SandboxPool  # noqa: E402
from grader.reference import load_reference  # noqa: E402
from grader.sandbox import RawRun, TraceReady, Sandbox  # noqa: E402
from grader.spec import Exercise, Limits, load_catalog  # noqa: E402


def submissions_of(exercise: Exercise) -> list[bytes]:
    return [labelled.path.read_bytes() for labelled in exercise.solutions() + exercise.mistakes()]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def timed_grades(exercise: Exercise, sources: list[bytes], make_runner: Any, count: int) -> list[float]:
    """Milliseconds per submission, one submission at a time."""
    timings = []
    for source in itertools.islice(itertools.cycle(sources), count):
        runner, close = make_runner()
        started = time.perf_counter()
        grade_submission(exercise, source, runner)
        timings.append((time.perf_counter() - started) * 1000)
        close()
    return timings


def own_compute(exercise: Exercise, rounds: int) -> tuple[list[float], list[float]]:
    """Milliseconds per round of the reference's bare training loop: every case, and the visible ones."""
    module = load_reference(exercise)
    cases = job_cases(exercise)

    def train(case: Case) -> float:
        started = time.perf_counter()
        install_parameters(module, case.init)
        for _ in range(case.epochs):
            for x, y in training_samples(case):
                module.loss(x, y).backward()
                module.update(case.lr)
        module.forward(test_input(case))
        return (time.perf_counter() - started) * 1000

    every, visible = [], []
    for _ in range(rounds):
        timings = [(case.hidden, train(case)) for case in cases]
        every.append(sum(ms for _, ms in timings))
        visible.append(sum(ms for hidden, ms in timings if not hidden))
    return every, visible


class CountingRunner:
    """The pool, counting the CPU time its children report."""

    def __init__(self, pool: SandboxPool) -> None:
        self.pool = pool
        self.child_cpu_s: list[float] = []

    def run(self, jobs: Sequence[dict[str, Any]], limits: Limits, on_trace: TraceReady | None = None) -> RawRun:
        run = self.pool.run(jobs, limits, on_trace)
        self.child_cpu_s.append(run.cpu_s or 0.0)
        return run


def throughput(exercise: Exercise, sources: list[bytes], pool: SandboxPool, count: int, clients: int) -> tuple[float, float, float]:
    """Graded submissions per second with `clients` threads submitting back to back, and the
    CPU milliseconds per submission spent in the children and in this (the grading) process."""
    batch = list(itertools.islice(itertools.cycle(sources), count))
    runner = CountingRunner(pool)
    started, cpu_started = time.perf_counter(), time.process_time()
    with ThreadPoolExecutor(max_workers=clients) as threads:
        list(threads.map(lambda source: grade_submission(exercise, source, runner), batch))
    elapsed, grader_cpu_s = time.perf_counter() - started, time.process_time() - cpu_started
    return count / elapsed, statistics.mean(runner.child_cpu_s) * 1000, grader_cpu_s / count * 1000


def sandbox_memory_kb(sandbox: Sandbox) -> tuple[int, int, int]:
    """Resident and proportional set size of a sandbox's processes (bubblewrap included), and
    how much of it is on 2 MB pages."""
    rss = pss = huge = 0
    for pid in sandbox.processes():
        try:
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()
        except OSError:
            continue
        fields = {line.split(":")[0]: int(line.split()[1]) for line in rollup[1:] if line.endswith("kB")}
        rss += fields.get("Rss", 0)
        pss += fields.get("Pss", 0)
        huge += fields.get("AnonHugePages", 0)
    return rss, pss, huge


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--exercise", default="linear")
    parser.add_argument("--submissions", type=int, default=200, help="warm submissions, one at a time")
    parser.add_argument("--burst", type=int, default=300, help="submissions for the throughput run")
    parser.add_argument("--naive", type=int, default=8, help="naive submissions (each imports torch)")
    parser.add_argument("--sandboxes", type=int, default=2)
    options = parser.parse_args()

    exercise = load_catalog(ROOT / "exercises")[options.exercise]
    sources = submissions_of(exercise)
    floor_every, floor_visible = own_compute(exercise, rounds=30)
    with SandboxPool(options.sandboxes) as pool:
        pool.wait_ready()
        warm_up([exercise], pool)
        timed_grades(exercise, sources, lambda: (pool, lambda: None), len(sources))  # one round untimed
        warm = timed_grades(exercise, sources, lambda: (pool, lambda: None), options.submissions)
        rate, child_cpu_ms, grader_cpu_ms = throughput(exercise, sources, pool, options.burst, clients=2 * options.sandboxes)
        memory = [sandbox_memory_kb(sandbox) for sandbox in pool.sandboxes()]

    def fresh() -> tuple[Sandbox, Any]:
        """The naive runner: every submission starts (and imports torch in) a sandbox of its own."""
        sandbox = Sandbox()
        return sandbox, sandbox.close

    naive = timed_grades(exercise, sources, fresh, options.naive)

    print(f"grading `{exercise.slug}`: {len(sources)} different submissions, cycled; {os.cpu_count()} cores")
    print(f"{'':34} {'n':>5} {'p50':>9} {'p99':>9} {'max':>9}")
    for name, timings in (("warm pool", warm), ("naive (fresh process each)", naive)):
        print(f"{name:34} {len(timings):>5} {statistics.median(timings):>6.1f} ms {percentile(timings, 0.99):>6.1f} ms {max(timings):>6.1f} ms")
    print(f"ratio naive / warm at p50: {statistics.median(naive) / statistics.median(warm):.1f}x")
    every, visible = statistics.median(floor_every), statistics.median(floor_visible)
    print(f"floor, the reference's bare training loop here: {every:.1f} ms for every case, {visible:.1f} ms for the visible one(s)")
    print(f"warm p50 / floor of the visible case(s): {statistics.median(warm) / visible:.1f}x")
    print(f"sustained: {rate:.1f} graded submissions/s with {options.sandboxes} sandboxes ({options.burst} submissions, {2 * options.sandboxes} clients)")
    print(f"ceiling at the floor: {1000 * min(options.sandboxes, os.cpu_count() or 1) / every:.1f} correct submissions/s on this machine")
    print(f"CPU per submission: {child_cpu_ms:.1f} ms in its sandboxed child, {grader_cpu_ms:.1f} ms in the grading process")
    for index, (rss, pss, huge) in enumerate(memory):
        print(f"warm sandbox {index}: RSS {rss / 1024:.0f} MiB, PSS {pss / 1024:.0f} MiB, {huge / 1024:.0f} MiB of it on 2 MB pages (bubblewrap + fork server, idle)")


if __name__ == "__main__":
    main()
