"""The grading queue the site hands submission ids to. Embedded default: threads over a warm pool.

The queue carries ids only; the submissions table is the source of truth, so a queue that loses
its jobs (a restart) loses nothing: `requeue_unfinished` puts the rows back.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import TYPE_CHECKING, Protocol

from flask import Flask

from .catalog import exercise_catalog
from .db import db
from .worker import grade_stored, unfinished_ids

if TYPE_CHECKING:
    from grader.grading import Runner

log = logging.getLogger(__name__)


class GradingQueue(Protocol):
    def enqueue(self, submission_id: int) -> None: ...


class InProcessQueue:
    """Grading threads in the web process, one per sandboxed worker of the pool."""

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
                from grader.grading import warm_up
                from grader.pool import WorkerPool

                self._runner = WorkerPool(self._app.config["GRADING_WORKERS"])
                self._runner.wait_ready()
                warm_up(exercise_catalog(self._app).values())
            return self._runner

    def enqueue(self, submission_id: int) -> None:
        future = self._executor.submit(self._grade, submission_id)
        with self._lock:
            self._pending.add(future)
        future.add_done_callback(self._forget)

    def requeue_unfinished(self) -> list[int]:
        with self._app.app_context():
            ids = unfinished_ids(db.session)
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
            with self._app.app_context():
                grade_stored(db.session, self.runner(), exercise_catalog(self._app), submission_id)
        except Exception:  # the row stays queued or running; `requeue_unfinished` takes it again
            log.exception("grading thread failed on submission %s", submission_id)

    def _forget(self, future: Future[None]) -> None:
        with self._lock:
            self._pending.discard(future)


def grading_queue(app: Flask) -> InProcessQueue:
    return app.extensions["gradelab_queue"]
