"""Gradelab's web platform: `create_app` builds the site; nothing here runs at import."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from flask import Flask

from .config import MissingSecretKey, default_config, environment_config, read_secret_key

if TYPE_CHECKING:
    from grader.sandbox import Runner


def create_app(test_config: dict[str, Any] | None = None, runner: Runner | None = None) -> Flask:
    """The site, configured from defaults, the environment, then `test_config`.

    `runner` grades submissions (a warm sandbox pool); without one, the site starts its own pool
    on the first submission. Building the site imports no torch: only what grades imports the
    grading module (grading.py), so a web process whose jobs go to Celery never does.
    """
    app = Flask(__name__, instance_path=os.environ.get("GRADELAB_INSTANCE_PATH"), instance_relative_config=True)
    app.config.from_mapping(default_config(app.instance_path))
    app.config.from_mapping(environment_config())
    if test_config is not None:
        app.config.from_mapping(test_config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = read_secret_key(app.instance_path)
    if not app.config["SECRET_KEY"]:
        raise MissingSecretKey(app.instance_path)

    from . import account, admin, api, auth, db, errors, i18n, instructor, nul_bytes, security, student, vendor
    from .queue import make_queue

    db.init_app(app)
    nul_bytes.init_app(app)  # first: no other hook or view may put a NUL into a query
    security.init_app(app)
    i18n.init_app(app)
    errors.init_app(app)
    app.extensions["gradelab_queue"] = make_queue(app, runner)
    for blueprint in (auth.bp, student.bp, instructor.bp, admin.bp, account.bp, api.bp, i18n.bp, vendor.bp):
        app.register_blueprint(blueprint)
    return app
