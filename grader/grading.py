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
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import replace
from collections.abc import Iterable
from typing import Any

from grader.calls import judge_calls
from grader.checks import Evidence, run_checks, unrun_checks
from grader.compare import CaseAnalysis, CaseJudge, numbers_of
from grader.diagnose import diagnose, exception_diagnosis
from grader.disclosure import WITHHELD, Hidden, disclosed
from grader.reference import job_cases, reference_traces, stepper_for
from grader.report import Diagnosis, GradeReport
from grader.sandbox import RawRun, Runner, TraceReady
from grader.spec import Exercise, Limits
from grader.tracecheck import trace_problem

logger = logging.getLogger(__name__)

SERIES_VALUES_PER_PARAMETER = 3
FORBIDDEN_ERRNOS = {errno.EPERM, errno.EACCES, errno.EROFS}
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


def build_jobs(exercise: Exercise, source: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The jobs for the harness: the visible cases, then the hidden ones, same source and contract."""
    cases = job_cases(exercise)
    job = {
        "source": source,
        "driver": exercise.driver,
        "functions": {name: list(args) for name, args in exercise.functions.items()},
        "parameters": {name: list(shape) for name, shape in exercise.parameters.items()},
    }
    return {**job, "cases": [c for c in cases if not c["hidden"]]}, {**job, "cases": [c for c in cases if c["hidden"]]}


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


def _grade(exercise: Exercise, source: str | bytes, runner: Runner, clock: _Clock) -> GradeReport:
    text, refusal = decode_source(exercise, source)
    if refusal is not None:
        return refusal
    assert text is not None
    visible_job, hidden_job = build_jobs(exercise, text)
    jobs = [visible_job, hidden_job] if hidden_job["cases"] else [visible_job]
    clock.has_hidden = len(jobs) == 2
    ready: list[Future[dict[str, Any]]] = [Future() for _ in jobs]

    def on_trace(index: int, trace: dict[str, Any]) -> None:
        if not ready[index].done():  # a pool may run the jobs again on a fresh worker
            if index == 0:
                clock.visible_in = time.perf_counter()
            ready[index].set_result(trace)

    child = _RUNS.submit(runner.run, jobs, exercise.limits, on_trace)
    traces = reference_traces(exercise)  # overlaps with the child's run
    judge = CaseJudge(stepper_for(exercise), exercise.tolerances["step"], exercise.tolerances["prediction"])
    early = _judge_as_traces_arrive(child, ready, jobs, traces, judge, clock)
    raw = child.result()
    judged = {index: analyses for index, (trace, analyses) in early.items() if trace is raw.traces[index]}
    failure = _unjudgeable(exercise, visible_job, raw, raw.traces[0], checked=bool(judged.get(0)))
    if failure is not None:
        return failure
    visible = raw.traces[0]
    assert visible is not None
    trace = visible
    if len(jobs) == 2 and _loaded(visible):
        hidden = raw.traces[1]
        failure = _unjudgeable(exercise, hidden_job, raw, hidden, checked=bool(judged.get(1)), hidden=True)
        if failure is not None:
            return failure
        assert hidden is not None
        if not _loaded(hidden):
            return _unrun(exercise, "crashed", "Your code loaded for the visible cases but failed when it was loaded again for the hidden cases.", **_output(raw))
        trace = {**visible, "cases": visible["cases"] + hidden["cases"]}
    analyses = {name: analysis for by_name in judged.values() for name, analysis in by_name.items()}
    return _judge(exercise, {**visible_job, "cases": visible_job["cases"] + hidden_job["cases"]}, raw, trace, traces, judge, analyses)


def _judge_as_traces_arrive(
    child: Future[RawRun], ready: list[Future[dict[str, Any]]], jobs: list[dict[str, Any]], traces: dict[str, Any], judge: CaseJudge, clock: _Clock
) -> dict[int, tuple[dict[str, Any], dict[str, CaseAnalysis]]]:
    """Judge each job's trace as soon as the runner hands it over, while the rest still runs.

    What comes back is (trace, analyses by case) per job; the child's final status may still
    void it (a timeout in the hidden cases, say), and empty analyses mean "judge it later".
    """
    judged: dict[int, tuple[dict[str, Any], dict[str, CaseAnalysis]]] = {}
    while not child.done() and len(judged) < len(jobs):
        wait([child, *(ready[i] for i in range(len(jobs)) if i not in judged)], return_when=FIRST_COMPLETED)
        for index in range(len(jobs)):
            if index not in judged and ready[index].done():
                trace = ready[index].result()
                judging_started = time.perf_counter()
                judged[index] = (trace, _judged_early(trace, jobs[index], traces, judge))
                if index == 0:
                    clock.visible_judging_s = time.perf_counter() - judging_started
    return judged


def _judged_early(trace: dict[str, Any], job: dict[str, Any], traces: dict[str, Any], judge: CaseJudge) -> dict[str, CaseAnalysis]:
    """The cases of one job's trace, judged; empty when the trace cannot be judged as it is (or is not a training run)."""
    if job["driver"] != "train" or trace_problem(trace, job) is not None or not _loaded(trace):
        return {}
    cases = {case["name"]: case for case in job["cases"]}
    return {t["name"]: judge.analyse(cases[t["name"]], t, traces[t["name"]], stop_early=cases[t["name"]]["hidden"]) for t in trace["cases"]}


def warm_up(exercises: Iterable[Exercise]) -> dict[str, str]:
    """Prepare a long-lived grading process: reference traces, steppers that judge a wrong run's
    steps in one vectorized call (about two seconds the first time, for torch.func), then a
    frozen heap. What comes back: why, for each exercise whose reference steps one at a time.

    With torch imported, a full garbage collection walks hundreds of thousands of objects and
    costs tens of milliseconds; frozen, they are never walked again, and grading latency loses
    its spikes. Call it once, after the imports and before serving.
    """
    unbatched = {}
    for exercise in exercises:
        traces = reference_traces(exercise)
        if exercise.driver == "train" and (problem := stepper_for(exercise).enable_batching(job_cases(exercise), traces)) is not None:
            logger.info("exercise %s: reference steps run one at a time (%s)", exercise.slug, problem)
            unbatched[exercise.slug] = problem
    gc.collect()
    gc.freeze()
    return unbatched


def _loaded(trace: dict[str, Any]) -> bool:
    return bool(trace["load"]["ok"]) and not trace["contract"]


def _output(raw: RawRun) -> dict[str, Any]:
    return {"stdout": raw.stdout, "stdout_truncated": raw.stdout_truncated}


def _unjudgeable(
    exercise: Exercise, job: dict[str, Any], raw: RawRun, trace: dict[str, Any] | None, checked: bool = False, hidden: bool = False
) -> GradeReport | None:
    """The report for a run that left nothing to judge of this job; None when `trace` can be judged.

    `checked`: the trace already passed `trace_problem`. `hidden`: the job holds the hidden
    cases, so how its child ended goes through `disclosed`.
    """
    output = _output(raw)
    limits = exercise.limits
    if raw.status == "timeout":
        return _unrun(exercise, "timeout", f"Your code did not finish within {limits.timeout_s:g} s: look for an endless loop.", **output)
    if raw.status == "cpu_time":
        return _unrun(exercise, "timeout", f"Your code used more than {limits.cpu_s:g} s of CPU time: look for an endless loop.", **output)
    if raw.status == "output_limit":
        return _unrun(exercise, "output_limit", f"Your code printed more than {limits.max_output_bytes // 1024} KB, so it was stopped. Print less.", **output)
    if raw.status == "worker_lost":
        return _unrun(exercise, "crashed", "The sandbox running your code stopped before grading finished. Your submission is kept and can be graded again.", **output)
    if trace is None:
        exit_code = disclosed(Hidden(exit_code=raw.exit_code), frozenset()).exit_code if hidden else raw.exit_code
        return _unrun(exercise, "crashed", _death_message(exit_code, hidden), **output)
    problem = None if checked else trace_problem(trace, job)
    if problem is not None:
        logger.warning("refused a malformed trace for %s: %s", exercise.slug, problem)
        message = "The grader received a malformed result from your program's process, so it cannot be graded. Code that writes to the grader's own channels is not allowed."
        return _unrun(exercise, "forbidden", message, **output)
    return None


def _judge(
    exercise: Exercise, job: dict[str, Any], raw: RawRun, trace: dict[str, Any], traces: dict[str, Any], judge: CaseJudge, judged: dict[str, CaseAnalysis]
) -> GradeReport:
    output = _output(raw)
    if not trace["load"]["ok"]:
        return _load_failure(exercise, trace["load"], output)
    if trace["contract"]:
        message = " ".join(contract_message(problem) for problem in trace["contract"])
        return _unrun(exercise, "contract_error", message, **output)
    if exercise.driver == "calls":
        return _judge_calls(exercise, job, trace, traces, output)
    cases = {case["name"]: case for case in job["cases"]}
    analyses = [judged.get(t["name"]) or judge.analyse(cases[t["name"]], t, traces[t["name"]], stop_early=cases[t["name"]]["hidden"]) for t in trace["cases"]]
    visible = [a for a in analyses if not a.hidden]
    checks = run_checks(exercise, Evidence(visible, [a for a in analyses if a.hidden]))
    visible_lr = visible[0].case["lr"] if visible else None
    diagnoses = diagnose(analyses, exercise.tolerances["step"], visible_lr)
    failing = next((a for a in analyses if a.student["error"]), None)
    shown = disclosed(Hidden(error=failing.student["error"] if failing and failing.hidden else None, diagnoses=_hidden(diagnoses)), _names(exercise))
    report = GradeReport(
        exercise=exercise.slug,
        exercise_version=exercise.version,
        outcome=error_outcome(failing.student["error"]) if failing else "ok",
        checks=checks,
        diagnoses=_visible(diagnoses) + shown.diagnoses,
        error=shown.error if failing and failing.hidden else (_student_error(failing) if failing else None),
        first_divergence=_first_divergence(visible),
        series=_series(visible[0]) if visible else {},
        **output,
    )
    return _with_summary(report, exercise.limits)


def _judge_calls(exercise: Exercise, job: dict[str, Any], trace: dict[str, Any], traces: dict[str, Any], output: dict[str, Any]) -> GradeReport:
    verdict = judge_calls(exercise, job["cases"], trace["cases"], traces)
    shown = disclosed(Hidden(diagnoses=_hidden(verdict.diagnoses)), _names(exercise))
    report = GradeReport(
        exercise=exercise.slug,
        exercise_version=exercise.version,
        outcome=error_outcome(verdict.error) if verdict.error else "ok",
        checks=verdict.checks,
        diagnoses=_visible(verdict.diagnoses) + shown.diagnoses,
        error=verdict.error,
        first_divergence=verdict.first_divergence,
        **output,
    )
    return _with_summary(report, exercise.limits)


def error_outcome(error: dict[str, Any]) -> str:
    """An exception is a crash, unless it is the sandbox's memory limit or one of its refusals."""
    if error["type"] == "MemoryError" or "can't allocate memory" in (error.get("message") or ""):
        return "memory_limit"
    if error["type"] == "PermissionError" or error.get("errno") in FORBIDDEN_ERRNOS:
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


def _load_failure(exercise: Exercise, load: dict[str, Any], output: dict[str, Any]) -> GradeReport:
    error = {key: load.get(key) for key in ("phase", "type", "message", "line", "text", "function")}
    where = f"line {load['line']}" if load.get("line") else "your file"
    if load["phase"] == "compile":
        caret = f": `{load['text']}`" if load.get("text") else ""
        message = f"Python cannot read your file: {load['type']} at {where}{caret}: {load['message']}."
        return _unrun(exercise, "syntax_error", message, error=error, **output)
    diagnosis = exception_diagnosis(load)
    outcome = error_outcome(load)
    message = f"Your file raised {load['type']} while it was loaded, at {where}: {load['message']}"
    if outcome != "crashed":
        message = f"{_limit_message(outcome, exercise.limits)} {message}"
    return _unrun(exercise, outcome, message, diagnoses=(diagnosis,), error=error, **output)


def _limit_message(outcome: str, limits: Limits) -> str:
    if outcome == "memory_limit":
        return f"Your code ran out of memory: a submission may use {limits.memory_mb} MB."
    return f"Your code tried something the sandbox does not allow. {FORBIDDEN_HINT}"


def contract_message(problem: dict[str, Any]) -> str:
    name = problem["name"]
    kind = problem["kind"]
    if kind == "missing_function":
        return f"Your file must define `def {name}({', '.join(problem['args'])}):`."
    if kind == "not_callable":
        return f"`{name}` must be a function, but it is {problem['type']}."
    if kind == "signature":
        line = f" (line {problem['line']})" if problem.get("line") else ""
        return f"`{name}` must take {len(problem['args'])} argument(s), `{name}({', '.join(problem['args'])})`; yours is `{problem['actual']}`{line}."
    if kind == "missing_parameter":
        return f"Your file must define the parameter `{name}` at module level, as a tensor."
    return f"The parameter `{name}` must be a tensor, but it is {problem['type']}."


def _death_message(exit_code: int | None, hidden: bool = False) -> str:
    if hidden:
        return f"Your program ended during the hidden cases, before grading finished ({WITHHELD}): do not call exit(), os._exit() or stop the process."
    if exit_code is not None and exit_code < 0:
        return f"Your program was killed by signal {-exit_code} before grading finished."
    return f"Your program ended (exit code {exit_code}) before grading finished: do not call exit(), os._exit() or stop the process."


def _student_error(analysis: CaseAnalysis) -> dict[str, Any]:
    """The exception of a visible case, as recorded (a hidden one's goes through `disclosed`)."""
    return {**analysis.student["error"], "case": analysis.name}


def _visible(diagnoses: Iterable[Diagnosis]) -> tuple[Diagnosis, ...]:
    return tuple(d for d in diagnoses if not d.hidden)


def _hidden(diagnoses: Iterable[Diagnosis]) -> tuple[Diagnosis, ...]:
    return tuple(d for d in diagnoses if d.hidden)


def _names(exercise: Exercise) -> frozenset[str]:
    """The exercise's own words, which a hidden diagnosis may name: its parameters and functions."""
    return frozenset(exercise.parameters) | frozenset(exercise.functions)


def _first_divergence(visible: list[CaseAnalysis]) -> dict[str, Any] | None:
    for analysis in visible:
        first = analysis.first
        if first is None:
            continue
        step = first.step
        return {
            "case": analysis.name,
            "quantity": first.quantity,
            "step": step.index if step else None,
            "epoch": step.epoch if step else None,
            "sample": step.sample if step else None,
            "parameter": first.parameter,
            "expected": first.expected,
            "actual": first.actual,
        }
    return None


def _series(analysis: CaseAnalysis) -> dict[str, Any]:
    """Per-step loss and parameters of the student against the reference, for plots."""

    def first_values(record: dict[str, Any] | None) -> list[float] | None:
        values = numbers_of(record)
        return values[:SERIES_VALUES_PER_PARAMETER] if values is not None else None

    def series_of(steps: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "loss": [(numbers_of(s.get("loss")) or [None])[0] for s in steps],
            "params": {name: [first_values(s.get("params", {}).get(name)) for s in steps] for name in analysis.case["init"]},
        }

    return {"case": analysis.name, "student": series_of(analysis.student["steps"]), "reference": series_of(analysis.reference["steps"])}


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
