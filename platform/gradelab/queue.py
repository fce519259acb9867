"""The grading queue the site hands submission ids to, and the sweeper that makes it reliable.

Two backends behind one `enqueue`: threads over a warm pool in the web process (the embedded
default), or Celery on Redis, consumed by `gradelab worker` processes anywhere. Either way the
queue carries ids only and the submissions table is the source of truth: a job the queue loses
(a restart, a killed worker) comes back when the sweeper finds its row past its lease. A job
grades the fairest queued submission, not necessarily its own id (claims.claim_next): the queue
is first in, first out, the table's order is fair between students and puts regrades last.

Torch-free: the grading itself (`grading.py`, which imports the grader and torch) is imported by
the in-process threads when they first grade, never by a web process that only sends ids.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import TYPE_CHECKING, Protocol

from flask import Flask

from .claims import Leases, requeue_expired
from .db import db

if TYPE_CHECKING:
    from grader.sandbox import Runner

log = logging.getLogger(__name__)


class GradingQueue(Protocol):
    def enqueue(self, submission_id: int) -> None: ...

    def close(self) -> None: ...


class InProcessQueue:
    """Grading threads in the web process, one per sandbox of the pool."""

    def __init__(self, app: Flask, runner: Runner | None = None) -> None:
        self._app = app
        self._runner = runner
        self._owns_runner = runner is None
        self._lock = threading.Lock()
        self._pending: set[Future[None]] = set()
        self._executor = ThreadPoolExecutor(max_workers=app.config["GRADING_WORKERS"], thread_name_prefix="grading")

    def runner(self) -> Runner:
        """The warm pool, started on first use unless one was passed in."""
        with self._lock:
            if self._runner is None:
                from .grading import start_pool

                self._runner = start_pool(self._app)
            return self._runner

    def enqueue(self, submission_id: int) -> None:
        future = self._executor.submit(self._grade, submission_id)
        with self._lock:
            self._pending.add(future)
        future.add_done_callback(self._forget)

    def requeue_unfinished(self) -> list[int]:
        """At start: this process is the only grader, so whatever is unfinished was interrupted."""
        with self._app.app_context():
            ids = requeue_expired(db.session, Leases.from_config(self._app.config), everything=True)
        for submission_id in ids:
            self.enqueue(submission_id)
        return ids

    def join(self, timeout_s: float | None = None) -> bool:
        """Wait for every queued grading; False if some are still going after `timeout_s`."""
        with self._lock:
            pending = set(self._pending)
        return not wait(pending, timeout=timeout_s).not_done

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
        if self._owns_runner and self._runner is not None:
            self._runner.close()  # type: ignore[attr-defined]

    def _grade(self, submission_id: int) -> None:
        try:
            from .grading import grade_in_app  # the first grading thread pays for the grader's import, not the site's start

            grade_in_app(self._app, self.runner(), submission_id)
        except Exception:  # the row keeps its lease; the sweeper queues it again
            log.exception("grading thread failed on submission %s", submission_id)

    def _forget(self, future: Future[None]) -> None:
        with self._lock:
            self._pending.discard(future)


class CeleryQueue:
    """Sends ids to Celery on Redis; `gradelab worker` consumes them (tasks.py)."""

    def __init__(self, app: Flask) -> None:
        from .tasks import GRADE_TASK, make_celery  # Celery is imported only by the sites that use it

        self._celery = make_celery(app)
        self._task = GRADE_TASK
        self._queue = app.config["GRADING_QUEUE"]

    def enqueue(self, submission_id: int) -> None:
        try:
            self._celery.send_task(self._task, args=[submission_id], queue=self._queue, retry=False)
        except Exception as error:  # Redis down: the row is stored with its lease; the sweeper sends it later
            log.warning("could not queue submission %s (%s); the sweeper will", submission_id, error)

    def close(self) -> None:
        self._celery.close()


def make_queue(app: Flask, runner: Runner | None) -> GradingQueue:
    backend = app.config["GRADING_BACKEND"]
    if backend == "inprocess":
        return InProcessQueue(app, runner)
    if backend == "celery":
        return CeleryQueue(app)
    raise ValueError(f"GRADELAB_GRADING_BACKEND={backend!r}: choose inprocess or celery")


def grading_queue(app: Flask) -> GradingQueue:
    return app.extensions["gradelab_queue"]


class Sweeper(threading.Thread):
    """Every few seconds, sends again the submissions whose lease ran out."""

    def __init__(self, app: Flask, queue: GradingQueue) -> None:
        super().__init__(name="gradelab-sweeper", daemon=True)
        self._app, self._queue = app, queue
        self._stopped = threading.Event()

    def sweep(self) -> list[int]:
        with self._app.app_context():
            ids = requeue_expired(db.session, Leases.from_config(self._app.config))
        for submission_id in ids:
            self._queue.enqueue(submission_id)
        if ids:
            log.info("queued again %d submission(s) past their lease: %s", len(ids), ids)
        return ids

    def run(self) -> None:
        while not self._stopped.wait(self._app.config["SWEEP_INTERVAL_S"]):
            try:
                self.sweep()
            except Exception:  # the database may be away for a while: try again next time
                log.exception("sweep failed")

    def stop(self) -> None:
        self._stopped.set()
