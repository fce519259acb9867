"""Celery on Redis: the grading task, for `gradelab worker` processes that own a warm pool.

The Celery app is built per Flask app, never at import. The web side only sends the task's name
(`queue.CeleryQueue`); a worker registers the task with its own pool, and only then is the grading
module (and torch) imported. Delivery is at least once (late acks, a job whose worker died is not
lost); the claim and the lease token make a second delivery harmless.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from celery import Celery
from flask import Flask

if TYPE_CHECKING:
    from grader.sandbox import Runner

GRADE_TASK = "gradelab.grade"


def make_celery(app: Flask, runner: Runner | None = None) -> Celery:
    celery = Celery("gradelab", broker=app.config["BROKER_URL"], set_as_current=False)
    celery.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_default_queue=app.config["GRADING_QUEUE"],
        broker_connection_retry_on_startup=True,
        broker_transport_options={"socket_connect_timeout": 3, "socket_timeout": 10},
        task_ignore_result=True,
        worker_hijack_root_logger=False,
    )
    if runner is not None:
        from .grading import grade_in_app

        @celery.task(name=GRADE_TASK)
        def grade(submission_id: int) -> None:
            grade_in_app(app, runner, submission_id)

    return celery
