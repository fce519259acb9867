"""A fixed set of warm sandboxes shared by the threads that grade.

Each submission borrows an idle sandbox (two when the pool is idle) and gives it back; a sandbox
that a submission killed, that died on its own, or that faulted (`SandboxFault`) is replaced by a
fresh one, so the pool keeps its size whatever submissions do. The replacement imports torch in
the background of its own process; only the submission that draws it waits for that.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from grader.sandbox import RawRun, Sandbox, SandboxError, TraceReady
from grader.spec import Limits
from grader.trace import Job

logger = logging.getLogger(__name__)

class SandboxPool:
    def __init__(self, size: int, unsafe: bool = False) -> None:
        if size < 1:
            raise ValueError("a pool needs at least one sandbox")
        self.size = size
        self.unsafe = unsafe
        self._idle: queue.Queue[Sandbox] = queue.Queue()
        self._lock = threading.Lock()
        self._sandboxes: set[Sandbox] = set()
        self._closed = False
        self._split = ThreadPoolExecutor(max_workers=size, thread_name_prefix="gradelab-split")
        self.replaced = 0
        for _ in range(size):
            self._idle.put(self._start())

    def run(self, jobs: Sequence[Job[Any]], limits: Limits, on_trace: TraceReady | None = None) -> RawRun:
        """Run the jobs of one submission: in one child, or split over two when a second sandbox
        is idle right now.

        One child costs least (one fork, one exit); two children at once answer sooner. So an
        idle pool spends a spare sandbox on the hidden cases, and a busy one never waits for it.
        The hidden child's output is never read into the result. Split, each trace goes to
        `on_trace` as soon as its child is done.
        """
        sandbox = self._idle.get()
        spare = self._idle_now() if len(jobs) > 1 else None
        if spare is None:
            return self._run(jobs, limits, on_trace, sandbox)
        later = self._split.submit(self._run_announced, 1, jobs[1:], limits, on_trace, spare)
        first = self._run_announced(0, jobs[:1], limits, on_trace, sandbox)
        return _merged(first, later.result())

    def _run_announced(self, index: int, jobs: Sequence[Job[Any]], limits: Limits, on_trace: TraceReady | None, sandbox: Sandbox) -> RawRun:
        run = self._run(jobs, limits, None, sandbox)
        if on_trace is not None and run.status == "finished" and run.traces[0] is not None:
            on_trace(index, run.traces[0])
        return run

    def _run(self, jobs: Sequence[Job[Any]], limits: Limits, on_trace: TraceReady | None, sandbox: Sandbox | None = None) -> RawRun:
        """One child on one sandbox, and once more on a fresh sandbox when the run says nothing
        about the submission: its sandbox faulted (`SandboxFault`: it could not confine the child,
        found its own limits changed), was found dead, or was lost during the run (its child
        cannot signal or trace it). The first sandbox is replaced either way.

        A second fault is the grader's and is raised (the report says `internal_error`, not the
        student's fault); a second loss is reported as the run's own outcome.
        """
        for attempt in range(2):
            sandbox = sandbox or self._idle.get()
            try:
                run = sandbox.run(jobs, limits, on_trace)
            except SandboxError as error:
                if attempt == 1:
                    raise
                logger.warning("grading again on a fresh sandbox: %s", error)
                continue
            finally:
                self._give_back(sandbox)
                sandbox = None
            if run.status != "sandbox_lost" or attempt == 1:
                return run
            logger.warning("grading again on a fresh sandbox: the sandbox was lost during the run")
        raise AssertionError("unreachable")

    def _idle_now(self) -> Sandbox | None:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            return None

    def wait_ready(self) -> list[dict[str, Any]]:
        """Block until every sandbox has imported torch (benchmarks and tests start warm)."""
        sandboxes = [self._idle.get() for _ in range(self.size)]
        try:
            return [sandbox.wait_ready() for sandbox in sandboxes]
        finally:
            for sandbox in sandboxes:
                self._idle.put(sandbox)

    def sandboxes(self) -> list[Sandbox]:
        """The pool's current sandboxes, busy or idle (for measuring them)."""
        with self._lock:
            return list(self._sandboxes)

    def _give_back(self, sandbox: Sandbox) -> None:
        if self._closed:
            sandbox.close()
            return
        if not sandbox.alive:
            sandbox.close()
            with self._lock:
                self._sandboxes.discard(sandbox)
                self.replaced += 1
            sandbox = self._start()
        self._idle.put(sandbox)

    def _start(self) -> Sandbox:
        with self._lock:
            if self._closed:
                raise SandboxError("the sandbox pool is closed")
            sandbox = Sandbox(unsafe=self.unsafe)
            self._sandboxes.add(sandbox)
            return sandbox

    def close(self) -> None:
        self._split.shutdown(wait=False)
        with self._lock:
            self._closed = True
            sandboxes = list(self._sandboxes)
            self._sandboxes.clear()
        for sandbox in sandboxes:
            sandbox.close()

    def __enter__(self) -> SandboxPool:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def _merged(first: RawRun, later: RawRun) -> RawRun:
    """One result for a submission split over two children: the first child's output, every
    trace, and the first status that is not `finished`."""
    failed = first if first.status != "finished" else later
    return RawRun(
        status=failed.status,
        traces=first.traces + later.traces,
        stdout=first.stdout,
        stdout_truncated=first.stdout_truncated,
        exit_code=failed.exit_code,
        duration_ms=max(first.duration_ms, later.duration_ms),
        cpu_s=(first.cpu_s or 0.0) + (later.cpu_s or 0.0),
    )
