"""The `gradelab` command: the grader's commands, plus `serve` for the web platform."""

from __future__ import annotations

import os
import secrets
import signal
import sys
import time
from pathlib import Path

import click

from grader import cli as grader_cli

from .config import secret_key_file
from .instance import make_private_folder, ensure_secret_key
from .vendor import missing_assets

INSTANCE_OPTION = click.option(
    "--instance",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("instance"),
    show_default=True,
    help="Folder of the SQLite database, the secret key and the demo passwords.",
)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, type=int, show_default=True)
@click.option("--threads", default=8, type=click.IntRange(1, 64), show_default=True, help="Request threads.")
@INSTANCE_OPTION
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, threads: int, instance: Path) -> None:
    """Run the site: migrate the database, load the exercises, warm the graders, serve."""
    import waitress

    from .queue import InProcessQueue, Sweeper, grading_queue

    app = _prepared_app(instance.resolve(), ctx.obj["exercises"])
    queue = grading_queue(app)
    sweeper = None
    if isinstance(queue, InProcessQueue):
        started = time.perf_counter()
        queue.runner()
        click.echo(f"Graders warm in {time.perf_counter() - started:.1f} s ({app.config['GRADING_WORKERS']} sandboxes).")
        requeued = queue.requeue_unfinished()
        if requeued:
            click.echo(f"Queued again {len(requeued)} submission(s) a previous run left unfinished.")
        sweeper = Sweeper(app, queue)
        sweeper.start()
    else:
        click.echo(f"Grading on the {app.config['GRADING_BACKEND']} queue: start `gradelab worker` processes.")
    server = waitress.create_server(app, host=host, port=port, threads=threads, ident="gradelab")  # listens now
    signal.signal(signal.SIGTERM, _interrupt)  # `docker stop` and service managers stop it like Ctrl-C
    try:
        click.echo(f"Gradelab is up: http://{host}:{server.effective_port}/")
        server.run()
    except KeyboardInterrupt:
        click.echo("Stopping: gradings under way finish; queued ones resume at the next start.")
    finally:
        if sweeper is not None:
            sweeper.stop()
        queue.close()


@click.command()
@INSTANCE_OPTION
@click.pass_context
def prepare(ctx: click.Context, instance: Path) -> None:
    """Migrate the database, load the exercises, create the demo accounts; then exit (run once per deploy)."""
    _prepared_app(instance.resolve(), ctx.obj["exercises"])


@click.command()
@click.option("--concurrency", type=click.IntRange(1, 64), default=None, help="Sandboxed workers [default: GRADELAB_GRADING_WORKERS, 2].")
@click.pass_context
def worker(ctx: click.Context, concurrency: int | None) -> None:
    """Grade submissions from the Celery queue on Redis, with a warm sandbox pool of its own."""
    from . import create_app
    from .claims import holder_name
    from .grading import start_pool
    from .queue import Sweeper, grading_queue
    from .tasks import make_celery

    config = {"EXERCISES_DIR": str(ctx.obj["exercises"]), "GRADING_BACKEND": "celery"}
    if concurrency:
        config["GRADING_WORKERS"] = concurrency
    if "GRADELAB_SECRET_KEY" not in os.environ:
        config["SECRET_KEY"] = secrets.token_hex(32)  # a worker signs nothing: any key will do
    app = create_app(config)
    started = time.perf_counter()
    runner = start_pool(app)
    size = app.config["GRADING_WORKERS"]
    click.echo(f"Graders warm in {time.perf_counter() - started:.1f} s ({size} sandboxes); queue {app.config['GRADING_QUEUE']!r}.")
    sweeper = Sweeper(app, grading_queue(app))
    sweeper.start()
    consumer = make_celery(app, runner).Worker(
        pool="threads",
        concurrency=size,
        queues=[app.config["GRADING_QUEUE"]],
        hostname=f"gradelab-{holder_name()}",
        without_mingle=True,
        without_gossip=True,
        loglevel="INFO",
    )
    try:
        consumer.start()  # until SIGTERM or Ctrl-C: a warm shutdown that finishes the gradings under way
    finally:
        sweeper.stop()
        runner.close()  # type: ignore[attr-defined]
        grading_queue(app).close()
    sys.exit(consumer.exitcode or 0)


@click.command()
@click.argument("exercise")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path))
@click.option("--server", metavar="URL", help="The Gradelab site [default: GRADELAB_SERVER, or the config file].")
@click.option("--json", "as_json", is_flag=True, help="Print the submission as the API returns it.")
@click.option("--timeout", type=float, default=600, show_default=True, help="Seconds to wait for the grade.")
def submit(exercise: str, file: Path, server: str | None, as_json: bool, timeout: float) -> None:
    """Submit FILE for EXERCISE to a Gradelab site, wait for the grade, print it as `grade` does.

    The API token comes from GRADELAB_TOKEN or ~/.config/gradelab/config.toml (token = "...").
    """
    from grader.terminal import json_text

    from .client import ApiFailure, connection, submit_and_wait

    source = sys.stdin.buffer.read() if str(file) == "-" else grader_cli._read_bytes(file)
    try:
        submission = submit_and_wait(connection(server), exercise, source, timeout)
    except ApiFailure as failure:
        raise grader_cli.GraderFault(str(failure)) from None
    try:  # the server's answer is as untrusted as the submission it quotes
        shown = json_text(submission) if as_json else _submission_text(exercise, submission)
        failed = (submission["events"][-1]["detail"] or "the grader failed") if submission["status"] == "error" else None
        full = submission["report"] is not None and submission["score"] == submission["max_score"] and submission["report"]["outcome"] == "ok"
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as error:
        raise grader_cli.GraderFault(f"the server's answer is not a Gradelab submission ({type(error).__name__}: {error})") from None
    click.echo(shown)
    if failed is not None:
        raise grader_cli.GraderFault(failed)
    sys.exit(0 if full else grader_cli.EXIT_BELOW_FULL)


def _submission_text(exercise: str, submission: dict) -> str:
    """The submission as `gradelab grade` prints a report, with its lateness and its page."""
    from grader import render
    from grader.report import GradeReport
    from grader.terminal import printable

    if submission["report"] is None:
        return printable(f"{exercise}: {submission['status']}: {submission['events'][-1]['detail'] or ''}")
    lines = [render.text_report(GradeReport.from_json(submission["report"]), use_color=sys.stdout.isatty())]
    if submission["late"]:
        lines.append(printable(f"\nLate: {submission['penalty']}% penalty, final score {submission['final_score']}/{submission['max_score']}."))
    lines.append(printable(f"\n{submission['url']}"))
    return "\n".join(lines)


@click.group()
def users() -> None:
    """Manage accounts: instructors and admins are made here or on the admin page."""


@users.command("create")
@click.argument("email")
@click.option("--name", help="Shown on the site [default: the part of EMAIL before @].")
@click.option("--role", type=click.Choice(["student", "instructor", "admin"]), default="student", show_default=True)
@click.password_option(help="Prompted for when not given.")
@INSTANCE_OPTION
def create_user(email: str, name: str | None, role: str, password: str, instance: Path) -> None:
    """Create an account with a role (or give an existing one that role, its password unchanged)."""
    from flask_migrate import upgrade
    from sqlalchemy import select

    from . import create_app
    from .db import db
    from .emails import email_key
    from .models import Role, User
    from .passwords import hash_password

    os.environ.setdefault("GRADELAB_INSTANCE_PATH", str(instance.resolve()))
    app = create_app({} if _has_secret_key(instance) else {"SECRET_KEY": secrets.token_hex(32)})  # signs nothing here
    email = email.strip().lower()
    with app.app_context():
        upgrade(directory=app.config["MIGRATIONS_DIR"])
        user = db.session.scalar(select(User).where(User.email_key == email_key(email)))  # look-alikes are one account
        if user is None:
            user = User(email=email, name=name or email.split("@")[0], password_hash=hash_password(password))
            db.session.add(user)
        user.role = Role(role)
        db.session.commit()
        click.echo(f"{user.email}: {user.role.value}")


def _has_secret_key(instance: Path) -> bool:
    return "GRADELAB_SECRET_KEY" in os.environ or secret_key_file(str(instance.resolve())).exists()


def _interrupt(_signal: int, _frame: object) -> None:
    raise KeyboardInterrupt


def _prepared_app(instance: Path, exercises: Path):  # -> Flask, imported lazily with the app
    """Instance folder and secret key, then migrations, exercises and demo accounts."""
    make_private_folder(instance)
    os.environ.setdefault("GRADELAB_INSTANCE_PATH", str(instance))
    if "GRADELAB_SECRET_KEY" not in os.environ:
        ensure_secret_key(secret_key_file(str(instance)))

    from flask_migrate import upgrade

    from . import create_app
    from .catalog import exercise_catalog, sync_catalog
    from .db import db
    from .demo import ensure_demo_accounts

    app = create_app({"EXERCISES_DIR": str(exercises)})
    missing = missing_assets(app.config["VENDOR_DIR"])
    if missing:
        raise click.ClickException(f"browser libraries not installed: {', '.join(missing)}. Run `make setup` (npm ci).")
    with app.app_context():
        upgrade(directory=app.config["MIGRATIONS_DIR"])
        changed = sync_catalog(db.session, exercise_catalog(app))
        click.echo(f"Exercises: {len(exercise_catalog(app))} loaded, {len(changed)} new or changed.")
        if app.config["DEMO_ACCOUNTS"]:
            click.echo("Demo accounts:")
            for email, password, role in ensure_demo_accounts(db.session, app.instance_path):
                click.echo(f"  {role.value:<10} {email}  password: {password}")
    return app


main = click.Group(
    name="gradelab",
    help=grader_cli.main.help,
    params=grader_cli.main.params,
    callback=grader_cli.main.callback,
    commands={**grader_cli.main.commands, "serve": serve, "prepare": prepare, "worker": worker, "submit": submit, "users": users},
)
