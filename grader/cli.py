"""The `gradelab` command: thin wrappers that parse, delegate and set the exit code.

Exit codes: 0 full score (or success), 1 below full score or a failed self-check, 2 usage
errors and unreadable input (click's own convention), 3 a fault of the grader itself or a
sandbox that cannot start here.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from grader import render
from grader.report import json_safe
from grader.sandbox import Sandbox, SandboxError, sandbox_problem
from grader.spec import LANGUAGES, Exercise, ExerciseError, exercises_dir, load_catalog
from grader.terminal import json_text, printable

EXIT_BELOW_FULL = 1
EXIT_GRADER_FAULT = 3


class GraderFault(click.ClickException):
    """The grader or the server failed; its message may quote a submission or a server's answer."""

    exit_code = EXIT_GRADER_FAULT

    def format_message(self) -> str:
        return printable(self.message)


class UnreadableFile(click.FileError):
    """Input that cannot be read is a usage error, as click's own checks of FILE make it: never
    the exit code of a grade below full."""

    exit_code = click.UsageError.exit_code


def _catalog(ctx: click.Context) -> dict[str, Exercise]:
    root = ctx.obj["exercises"]
    try:
        return load_catalog(root)
    except ExerciseError as error:
        raise click.ClickException(str(error)) from None


UNSAFE_OPTION = click.option(
    "--unsafe-no-sandbox",
    "unsafe",
    is_flag=True,
    help="Run the code without the sandbox (rlimits only). Only for your own code, where no sandbox can start.",
)


def _require_sandbox(unsafe: bool) -> None:
    """Untrusted code runs sandboxed or not at all, unless the user says it is their own."""
    if unsafe:
        click.echo("warning: --unsafe-no-sandbox: the code runs with your own rights, unisolated.", err=True)
        return
    problem = sandbox_problem()
    if problem is not None:
        raise GraderFault(
            f"refusing to run untrusted code: {problem}.\n"
            "To grade your own code on this machine anyway, pass --unsafe-no-sandbox."
        )


def _exercise(ctx: click.Context, slug: str) -> Exercise:
    catalog = _catalog(ctx)
    if slug not in catalog:
        raise click.BadParameter(f"no exercise {slug!r}; known: {', '.join(catalog)}", param_hint="EXERCISE")
    return catalog[slug]


@click.group()
@click.option(
    "--exercises",
    "exercises_root",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder of exercises (default: $GRADELAB_EXERCISES_DIR or the bundled ones).",
)
@click.pass_context
def main(ctx: click.Context, exercises_root: Path | None) -> None:
    """Gradelab: auto-graded PyTorch autograd exercises."""
    ctx.obj = {"exercises": exercises_root or exercises_dir()}


@main.command("exercises")
@click.pass_context
def list_exercises(ctx: click.Context) -> None:
    """List the exercises."""
    for exercise in _catalog(ctx).values():
        click.echo(f"{exercise.slug:<14} {exercise.title['en']}  ({exercise.max_score} points)")


@main.command()
@click.argument("exercise")
@click.option("--lang", type=click.Choice(LANGUAGES), default="en", show_default=True)
@click.pass_context
def show(ctx: click.Context, exercise: str, lang: str) -> None:
    """Print an exercise's statement (Markdown)."""
    click.echo(_exercise(ctx, exercise).statement(lang))


@main.command()
@click.argument("exercise")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to this file instead of stdout.")
@click.pass_context
def starter(ctx: click.Context, exercise: str, output: Path | None) -> None:
    """Print or write an exercise's starter code."""
    code = _exercise(ctx, exercise).starter()
    if output is None:
        click.echo(code, nl=False)
        return
    if output.exists():
        raise click.ClickException(f"{output} exists already; not overwriting it")
    output.write_text(code, encoding="utf-8")
    click.echo(f"wrote {output}")


@main.command()
@click.argument("exercise")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, allow_dash=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@UNSAFE_OPTION
@click.pass_context
def grade(ctx: click.Context, exercise: str, file: Path, as_json: bool, unsafe: bool) -> None:
    """Grade FILE (- reads stdin) as a submission for EXERCISE.

    Exits 0 on full score, 1 below it, 2 on a usage error or an unreadable FILE, 3 on a fault of
    the grader or where no sandbox can start.
    """
    spec = _exercise(ctx, exercise)
    source = sys.stdin.buffer.read() if str(file) == "-" else _read_bytes(file)
    _require_sandbox(unsafe)
    try:
        # Starts importing torch now, alongside this process's own import; one grade does not
        # repay the sandbox's warm-up of lazily loaded modules.
        sandbox = Sandbox(unsafe=unsafe, warm_up=False)
    except SandboxError as error:
        raise GraderFault(str(error)) from None
    with sandbox:
        from grader.grading import (
            grade_submission,  # imports torch: only for the commands that grade
        )

        report = grade_submission(spec, source, sandbox)
    if as_json:
        click.echo(json_text(json_safe(report.to_json())))
    else:
        click.echo(render.text_report(report, use_color=sys.stdout.isatty()))
    if report.outcome == "internal_error":
        raise GraderFault(report.message)
    ctx.exit(0 if report.is_full_score else EXIT_BELOW_FULL)


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise UnreadableFile(str(path), hint=error.strerror) from None


@main.command("check-exercises")
@click.argument("slugs", nargs=-1)
@click.option("--sandboxes", type=click.IntRange(1, 64), default=2, show_default=True, help="Warm sandboxes grading at once.")
@UNSAFE_OPTION
@click.pass_context
def check_exercises(ctx: click.Context, slugs: tuple[str, ...], sandboxes: int, unsafe: bool) -> None:
    """Grade every reference, solution and labelled mistake; fail on any surprise."""
    catalog = _catalog(ctx)
    chosen = [_exercise(ctx, slug) for slug in slugs] if slugs else list(catalog.values())
    _require_sandbox(unsafe)
    from grader.grading import warm_up
    from grader.pool import SandboxPool
    from grader.selfcheck import check_exercise, selfcheck_table

    with SandboxPool(sandboxes, unsafe=unsafe) as pool:
        unbatched = warm_up(chosen, pool)  # grade as a server does, vectorized reference steps included
        rows = [row for exercise in chosen for row in check_exercise(exercise, pool)]
    click.echo(selfcheck_table(rows))
    for slug, reason in unbatched.items():
        click.echo(printable(f"note: {slug}: reference steps run one at a time, which is slower ({reason})"))
    failed = [row for row in rows if not row.ok]
    click.echo(f"\n{len(rows) - len(failed)} passed, {len(failed)} failed")
    ctx.exit(EXIT_BELOW_FULL if failed else 0)
