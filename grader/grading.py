"""grade_submission: one source file in, one GradeReport out, whatever the source does.

The flow is one-way: source -> jobs -> sandboxed harness -> raw traces -> comparison with the
reference (here, in the trusted process) -> checks and diagnoses -> report. The visible cases
and then the hidden cases run as two jobs in one child; the hidden job is sent only after the
grader has the visible trace and has closed the child's output, so nothing printed can carry a
hidden input out. Anything student code does
ends as a report with its outcome; only a fault of the grader itself becomes `internal_error`,
logged with its traceback.
"""

from __future__ import annotations

import errno
import gc
import logging
import time
from collections.abc import Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import replace
from typing import Any

from grader import registry
from grader.disclosure import Hidden, disclosed
from grader.drivers.base import Driver
from grader.exceptions import WITHHELD, exception_diagnosis
from grader.frames import Body
from grader.notebook import NotANotebook, looks_like_notebook, program_of
from grader.reference import job, reference_traces
from grader.report import CheckResult, Diagnosis, GradeReport
from grader.sandbox import RawRun, Runner
from grader.spec import Exercise, Limits
from grader.trace import (
    Error,
    Job,
    MissingFunction,
    MissingParameter,
    NotCallable,
    NotSubclass,
    Signature,
    Trace,
)
from grader.tracecheck import decoded_trace

logger = logging.getLogger(__name__)

FORBIDDEN_ERRNOS = {errno.EPERM, errno.EACCES, errno.EROFS}
NOTEBOOK_SIZE_FACTOR = 8  # a notebook carries outputs and metadata beside its code
FORBIDDEN_HINT = "Submissions may not start processes, open network connections, signal other processes or write outside their temporary folder."


# Threads that wait on sandboxed runs (they block on pipes, not on the CPU), so that the
# reference work overlaps the run. Shared: starting a thread per submission costs milliseconds
# on a busy machine.
_RUNS = ThreadPoolExecutor(max_workers=64, thread_name_prefix="gradelab-run")


def grade_submission(exercise: Exercise, source: str | bytes, runner: Runner) -> GradeReport:
    clock = _Clock(time.perf_counter())
    try:
        report = _grade(exercise, source, runner, clock)
    except Exception:
        logger.exception("grader fault on exercise %s", exercise.slug)
        report = _unrun(exercise, "internal_error", "The grader failed on this submission. This is not your code's fault; your submission is kept and can be graded again.")
    return report.with_timing(clock.shown_ms(exercise))


class _Clock:
    """The time a report may show: only what the visible cases took (see `disclosure`).

    Once there are hidden cases, the time of the whole grading carries theirs (a submission
    can sleep for a hidden input's value), and rounding would only slow that channel down. So
    `duration_ms` is the time until the visible trace was in, plus the time it took to judge
    it. When the visible trace never came in, the time measured may include a hidden child run
    beside it (the pool splits idle runs): the report then shows the wall-clock limit.
    """

    def __init__(self, started: float) -> None:
        self.started = started
        self.visible_in: float | None = None
        self.visible_judging_s = 0.0
        self.has_hidden = False

    def shown_ms(self, exercise: Exercise) -> float:
        if not self.has_hidden:
            return (time.perf_counter() - self.started) * 1000
        if self.visible_in is None:
            return exercise.limits.timeout_s * 1000
        return (self.visible_in - self.started + self.visible_judging_s) * 1000


def build_jobs(exercise: Exercise, source: str) -> tuple[Job[Any], Job[Any]]:
    """The jobs for the harness: the visible cases, then the hidden ones, same source and contract."""
    cases = registry.driver(exercise.driver).job_cases(exercise)
    return job(exercise, source, [c for c in cases if not c.hidden]), job(exercise, source, [c for c in cases if c.hidden])


def decode_source(exercise: Exercise, source: str | bytes) -> tuple[str | None, GradeReport | None]:
    """The source as text, or the report that refuses it before anything runs."""
    size = len(source.encode("utf-8", errors="surrogatepass") if isinstance(source, str) else source)
    limit = exercise.limits.max_source_bytes
    if size > limit:
        return None, _unrun(exercise, "contract_error", f"Your file is {size / 1024:.0f} KB; submissions are limited to {limit / 1024:.0f} KB.")
    if isinstance(source, str):
        return source, None
    try:
        return source.decode("utf-8"), None
    except UnicodeDecodeError as error:
        message = f"Your file is not UTF-8 text: byte 0x{source[error.start]:02x} at position {error.start}. Save it as UTF-8 and submit again."
        return None, _unrun(exercise, "syntax_error", message)


def prepared_source(exercise: Exercise, source: str | bytes) -> tuple[str | None, tuple[str, ...], GradeReport | None]:
    """The Python to run, with notes on what was done to get it (a notebook's skipped magics),
    or the report that refuses the submission before anything runs."""
    data = source.encode("utf-8", errors="surrogatepass") if isinstance(source, str) else source
    # Past the notebook limit a file is not even parsed as one: the source limit refuses it.
    if len(data) > NOTEBOOK_SIZE_FACTOR * exercise.limits.max_source_bytes or not looks_like_notebook(data):
        text, refusal = decode_source(exercise, source)
        return text, (), refusal
    if "notebook" not in exercise.forms:
        return None, (), _unrun(exercise, "contract_error", "This exercise takes a Python file (.py), not a notebook: copy your code cells into one file.")
    try:
        program = program_of(data)
    except NotANotebook as error:
        return None, (), _unrun(exercise, "syntax_error", str(error))
    text, refusal = decode_source(exercise, program.source)
    return text, program.notes, refusal


def _grade(exercise: Exercise, source: str | bytes, runner: Runner, clock: _Clock) -> GradeReport:
    text, notes, refusal = prepared_source(exercise, source)
    if refusal is not None:
        return refusal
    assert text is not None
    return replace(_grade_program(exercise, text, runner, clock), notes=notes)


def _grade_program(exercise: Exercise, text: str, runner: Runner, clock: _Clock) -> GradeReport:
    driver = registry.driver(exercise.driver)
    visible_job, hidden_job = build_jobs(exercise, text)
    jobs = [visible_job, hidden_job] if hidden_job.cases else [visible_job]
    clock.has_hidden = len(jobs) == 2
    ready: list[Future[Body]] = [Future() for _ in jobs]

    def on_trace(index: int, body: Body) -> None:
        if not ready[index].done():  # a pool may run the jobs again on a fresh sandbox
            if index == 0:
                clock.visible_in = time.perf_counter()
            ready[index].set_result(body)

    child = _RUNS.submit(runner.run, jobs, exercise.limits, on_trace)
    reference = reference_traces(exercise, runner)  # cached, or run meanwhile (the runner serves one run at a time per sandbox)
    early = _judge_as_traces_arrive(child, ready, jobs, exercise, driver, reference, clock)
    raw = child.result()
    visible = _checked(exercise, visible_job, raw, 0, early)
    if isinstance(visible, GradeReport):
        return visible
    records = list(visible.cases)
    if len(jobs) == 2 and visible.loaded:
        hidden = _checked(exercise, hidden_job, raw, 1, early, hidden=True)
        if isinstance(hidden, GradeReport):
            return hidden
        if not hidden.loaded:
            return _unrun(exercise, "crashed", "Your code loaded for the visible cases but failed when it was loaded again for the hidden cases.", **_output(raw))
        records += hidden.cases
    analyses = {name: analysis for index, (body, _, by_name) in early.items() if body is raw.traces[index] for name, analysis in by_name.items()}
    return _judge(exercise, driver, visible, records, visible_job.cases + hidden_job.cases, raw, reference, analyses)


# Per job: (its frame body, what it decoded to, the analyses of its cases judged early).
_Early = dict[int, tuple[Body, "Trace[Any] | str", dict[str, Any]]]


def _judge_as_traces_arrive(
    child: Future[RawRun], ready: list[Future[Body]], jobs: list[Job[Any]], exercise: Exercise, driver: Driver, reference: dict[str, Any], clock: _Clock
) -> _Early:
    """Decode and judge each job's trace as soon as the runner hands it over, while the rest
    still runs. The child's final status may still void it (a timeout in the hidden cases, say)."""
    judged: _Early = {}
    while not child.done() and len(judged) < len(jobs):
        wait([child, *(ready[i] for i in range(len(jobs)) if i not in judged)], return_when=FIRST_COMPLETED)
        for index in range(len(jobs)):
            if index not in judged and ready[index].done():
                body = ready[index].result()
                judging_started = time.perf_counter()
                decoded = decoded_trace(body, jobs[index], exercise)
                judged[index] = (body, decoded, _judged_early(decoded, jobs[index], exercise, driver, reference))
                if index == 0:
                    clock.visible_judging_s = time.perf_counter() - judging_started
    return judged


def _judged_early(decoded: Trace[Any] | str, job: Job[Any], exercise: Exercise, driver: Driver, reference: dict[str, Any]) -> dict[str, Any]:
    """The analyses of one job's cases that the kind makes as soon as their trace is in."""
    if isinstance(decoded, str) or not decoded.loaded:
        return {}
    cases = {case.name: case for case in job.cases}
    analyses = {r.name: driver.analyse(exercise, cases[r.name], r, reference[r.name]) for r in decoded.cases}
    return {name: analysis for name, analysis in analyses.items() if analysis is not None}


def warm_up(exercises: Iterable[Exercise], runner: Runner) -> dict[str, str]:
    """Prepare a long-lived grading process: reference traces (run through `runner` unless
    cached), then what each kind prepares (the `train` kind: steppers that judge a wrong run's
    steps in one vectorized call, about two seconds the first time, for torch.func), then a
    frozen heap. What comes back: what could not be prepared, by exercise.

    With torch imported, a full garbage collection walks hundreds of thousands of objects and
    costs tens of milliseconds; frozen, they are never walked again, and grading latency loses
    its spikes. Call it once, after the imports and before serving.
    """
    unprepared = {}
    for exercise in exercises:
        reference = reference_traces(exercise, runner)
        if (problem := registry.driver(exercise.driver).warm_up(exercise, reference)) is not None:
            logger.info("exercise %s: %s", exercise.slug, problem)
            unprepared[exercise.slug] = problem
    gc.collect()
    gc.freeze()
    return unprepared


def _output(raw: RawRun) -> dict[str, Any]:
    return {"stdout": raw.stdout, "stdout_truncated": raw.stdout_truncated}


def _checked(exercise: Exercise, job: Job[Any], raw: RawRun, index: int, early: _Early, hidden: bool = False) -> Trace[Any] | GradeReport:
    """The job's trace, decoded and checked; or the report for a run that left nothing to judge of it.

    `hidden`: the job holds the hidden cases, so how its child ended goes through `disclosed`.
    """
    output = _output(raw)
    limits = exercise.limits
    if raw.status == "timeout":
        return _unrun(exercise, "timeout", f"Your code did not finish within {limits.timeout_s:g} s: look for an endless loop.", **output)
    if raw.status == "cpu_time":
        return _unrun(exercise, "timeout", f"Your code used more than {limits.cpu_s:g} s of CPU time: look for an endless loop.", **output)
    if raw.status == "output_limit":
        return _unrun(exercise, "output_limit", f"Your code printed more than {limits.max_output_bytes // 1024} KB, so it was stopped. Print less.", **output)
    if raw.status == "sandbox_lost":
        return _unrun(exercise, "crashed", "The sandbox running your code stopped before grading finished. Your submission is kept and can be graded again.", **output)
    body = raw.traces[index]
    if body is None:
        exit_code = disclosed(Hidden(exit_code=raw.exit_code), frozenset()).exit_code if hidden else raw.exit_code
        return _unrun(exercise, "crashed", _death_message(exit_code, hidden), **output)
    decoded = early[index][1] if index in early and early[index][0] is body else decoded_trace(body, job, exercise)
    if isinstance(decoded, str):
        logger.warning("refused a malformed trace for %s: %s", exercise.slug, decoded)
        message = "The grader received a malformed result from your program's process, so it cannot be graded. Code that writes to the grader's own channels is not allowed."
        return _unrun(exercise, "forbidden", message, **output)
    return decoded


def _judge(
    exercise: Exercise, driver: Driver, visible: Trace[Any], records: list[Any], cases: list[Any], raw: RawRun, reference: dict[str, Any], analyses: dict[str, Any]
) -> GradeReport:
    output = _output(raw)
    if visible.load is not None:
        return _load_failure(exercise, visible.load, output)
    if visible.contract:
        message = " ".join(contract_message(problem) for problem in visible.contract)
        return _unrun(exercise, "contract_error", message, **output)
    verdict = driver.verdict(exercise, cases, records, reference, analyses)
    failure = verdict.failure
    hidden = Hidden(error=failure.error if failure and failure.hidden else None, diagnoses=_hidden(verdict.diagnoses))
    shown = disclosed(hidden, _names(exercise), driver.hidden_messages)
    if failure is None:
        error = None
    else:
        error = shown.error if failure.hidden else {**failure.error.shown(), "case": failure.case}
    report = GradeReport(
        exercise=exercise.slug,
        exercise_version=exercise.version,
        outcome=error_outcome(failure.error) if failure else "ok",
        checks=verdict.checks,
        diagnoses=_visible(verdict.diagnoses) + shown.diagnoses,
        error=error,
        first_divergence=verdict.first_divergence,
        series=verdict.series,
        **output,
    )
    return _with_summary(report, exercise.limits)


def error_outcome(error: Error) -> str:
    """An exception is a crash, unless it is the sandbox's memory limit or one of its refusals."""
    if error.type == "MemoryError" or "can't allocate memory" in (error.message or ""):
        return "memory_limit"
    if error.type == "PermissionError" or error.errno in FORBIDDEN_ERRNOS:
        return "forbidden"
    return "crashed"


def _unrun(exercise: Exercise, outcome: str, message: str, diagnoses: tuple[Diagnosis, ...] = (), error: dict[str, Any] | None = None, **output: Any) -> GradeReport:
    return GradeReport(
        exercise=exercise.slug,
        exercise_version=exercise.version,
        outcome=outcome,
        checks=unrun_checks(exercise, "not run: " + message.split(". ")[0].rstrip(".") + "."),
        diagnoses=diagnoses,
        message=message,
        error=error,
        **output,
    )


def unrun_checks(exercise: Exercise, reason: str) -> tuple[CheckResult, ...]:
    """Every check at zero, when the code could not be run at all."""
    results = []
    for name, points in exercise.points.items():
        if name == "hidden":
            hidden = [c for c in exercise.cases if c.hidden]
            results += [CheckResult(f"hidden_{n}", False, 0, points, True, f"Hidden case {n}: {reason}") for n in range(1, len(hidden) + 1)]
        else:
            results.append(CheckResult(name, False, 0, points, False, reason))
    return tuple(results)


def _load_failure(exercise: Exercise, load: Error, output: dict[str, Any]) -> GradeReport:
    error = {key: getattr(load, key) for key in ("phase", "type", "message", "line", "text", "function")}
    where = f"line {load.line}" if load.line else "your file"
    if load.phase == "compile":
        caret = f": `{load.text}`" if load.text else ""
        message = f"Python cannot read your file: {load.type} at {where}{caret}: {load.message}."
        return _unrun(exercise, "syntax_error", message, error=error, **output)
    diagnosis = exception_diagnosis(load)
    outcome = error_outcome(load)
    message = f"Your file raised {load.type} while it was loaded, at {where}: {load.message}"
    if outcome != "crashed":
        message = f"{_limit_message(outcome, exercise.limits)} {message}"
    return _unrun(exercise, outcome, message, diagnoses=(diagnosis,), error=error, **output)


def _limit_message(outcome: str, limits: Limits) -> str:
    if outcome == "memory_limit":
        return f"Your code ran out of memory: a submission may use {limits.memory_mb} MB."
    return f"Your code tried something the sandbox does not allow. {FORBIDDEN_HINT}"


def contract_message(problem: Any) -> str:
    name = problem.name
    if isinstance(problem, MissingFunction):
        return f"Your file must define `def {name}({', '.join(problem.args)}):`."
    if isinstance(problem, NotCallable):
        return f"`{name}` must be a function, but it is {problem.type}."
    if isinstance(problem, Signature):
        line = f" (line {problem.line})" if problem.line else ""
        return f"`{name}` must take {len(problem.args)} argument(s), `{name}({', '.join(problem.args)})`; yours is `{problem.actual}`{line}."
    if isinstance(problem, MissingParameter):
        return f"Your file must define the parameter `{name}` at module level, as a tensor."
    if isinstance(problem, NotSubclass):
        wanted = f"Your file must define `class {name}({problem.expected.rsplit('.', 1)[-1]}):`"
        return f"{wanted}." if problem.type == "NoneType" else f"{wanted}; `{name}` is {problem.type}."
    return f"The parameter `{name}` must be a tensor, but it is {problem.type}."


def _death_message(exit_code: int | None, hidden: bool = False) -> str:
    if hidden:
        return f"Your program ended during the hidden cases, before grading finished ({WITHHELD}): do not call exit(), os._exit() or stop the process."
    if exit_code is not None and exit_code < 0:
        return f"Your program was killed by signal {-exit_code} before grading finished."
    return f"Your program ended (exit code {exit_code}) before grading finished: do not call exit(), os._exit() or stop the process."


def _visible(diagnoses: Iterable[Diagnosis]) -> tuple[Diagnosis, ...]:
    return tuple(d for d in diagnoses if not d.hidden)


def _hidden(diagnoses: Iterable[Diagnosis]) -> tuple[Diagnosis, ...]:
    return tuple(d for d in diagnoses if d.hidden)


def _names(exercise: Exercise) -> frozenset[str]:
    """The exercise's own words, which a hidden diagnosis may name: its parameters and functions."""
    return frozenset(exercise.parameters) | frozenset(exercise.functions)


def _with_summary(report: GradeReport, limits: Limits) -> GradeReport:
    if report.error:
        message = _raised(report.error)
        if report.outcome != "crashed":
            message = f"{_limit_message(report.outcome, limits)} {message}"
    elif report.is_full_score:
        message = "Every check passes."
    else:
        failed = [c.id for c in report.checks if not c.passed]
        message = f"{len(failed)} check(s) fail: {', '.join(failed)}."
    return replace(report, message=message)


def _raised(error: dict[str, Any]) -> str:
    if error.get("case") == "hidden":  # already `disclosed`: its type is all there is
        return f"Your code raised an exception in a hidden case ({error['type']}); {WITHHELD}."
    where = f" at line {error['line']}" if error.get("line") else f" during {error['phase']}()"
    when = f" (step {error['step']})" if error.get("step") else ""
    return f"Your code raised {error['type']}{where}{when}."
