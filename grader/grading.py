"""grade_submission: one source file in, one GradeReport out, whatever the source does.

The flow is one-way: source -> job -> sandboxed harness -> raw trace -> comparison with the
reference (here, in the trusted process) -> checks and diagnoses -> report. Anything student code
does ends as a report with its outcome; only a fault of the grader itself becomes
`internal_error`, logged with its traceback.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

from grader import sandbox
from grader.checks import Evidence, run_checks, unrun_checks
from grader.compare import CaseAnalysis, CaseJudge, numbers_of
from grader.diagnose import diagnose, exception_diagnosis
from grader.reference import job_cases, reference_traces, stepper_for
from grader.report import Diagnosis, GradeReport
from grader.spec import Exercise

logger = logging.getLogger(__name__)

Runner = Callable[[dict[str, Any], float, int], sandbox.RawRun]
SERIES_VALUES_PER_PARAMETER = 3


def grade_submission(exercise: Exercise, source: str | bytes, run: Runner = sandbox.run_harness) -> GradeReport:
    started = time.perf_counter()
    try:
        report = _grade(exercise, source, run)
    except Exception:
        logger.exception("grader fault on exercise %s", exercise.slug)
        report = _unrun(exercise, "internal_error", "The grader failed on this submission. This is not your code's fault; your submission is kept and can be graded again.")
    return report.with_timing((time.perf_counter() - started) * 1000)


def build_job(exercise: Exercise, source: str) -> dict[str, Any]:
    return {
        "source": source,
        "driver": exercise.driver,
        "functions": {name: list(args) for name, args in exercise.functions.items()},
        "parameters": {name: list(shape) for name, shape in exercise.parameters.items()},
        "cases": job_cases(exercise),
    }


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


def _grade(exercise: Exercise, source: str | bytes, run: Runner) -> GradeReport:
    text, refusal = decode_source(exercise, source)
    if refusal is not None:
        return refusal
    assert text is not None
    job = build_job(exercise, text)
    with ThreadPoolExecutor(max_workers=1) as pool:
        child = pool.submit(run, job, exercise.limits.timeout_s, exercise.limits.max_output_bytes)
        traces = reference_traces(exercise)  # overlaps with the child's start-up
        stepper = stepper_for(exercise)
        raw = child.result()
    return _judge(exercise, job, raw, traces, CaseJudge(stepper, exercise.tolerances["step"], exercise.tolerances["prediction"]))


def _judge(exercise: Exercise, job: dict[str, Any], raw: sandbox.RawRun, traces: dict[str, Any], judge: CaseJudge) -> GradeReport:
    output = {"stdout": raw.stdout, "stdout_truncated": raw.stdout_truncated}
    if raw.status == "timeout":
        return _unrun(exercise, "timeout", f"Your code did not finish within {exercise.limits.timeout_s:g} s: look for an endless loop.", **output)
    if raw.status == "output_limit":
        limit_kb = exercise.limits.max_output_bytes // 1024
        return _unrun(exercise, "output_limit", f"Your code printed more than {limit_kb} KB, so it was stopped. Print less.", **output)
    trace = raw.trace
    if trace is None:
        return _unrun(exercise, "crashed", _death_message(raw.exit_code), **output)
    if not trace["load"]["ok"]:
        return _load_failure(exercise, trace["load"], output)
    if trace["contract"]:
        message = " ".join(contract_message(problem) for problem in trace["contract"])
        return _unrun(exercise, "contract_error", message, **output)
    cases = {case["name"]: case for case in job["cases"]}
    analyses = [judge.analyse(cases[t["name"]], t, traces[t["name"]], stop_early=cases[t["name"]]["hidden"]) for t in trace["cases"]]
    visible = [a for a in analyses if not a.hidden]
    checks = run_checks(exercise, Evidence(visible, [a for a in analyses if a.hidden]))
    visible_lr = visible[0].case["lr"] if visible else None
    diagnoses = diagnose(analyses, exercise.tolerances["step"], visible_lr)
    error = next((_student_error(a) for a in analyses if a.student["error"]), None)
    report = GradeReport(
        exercise=exercise.slug,
        exercise_version=exercise.version,
        outcome="crashed" if error else "ok",
        checks=checks,
        diagnoses=tuple(diagnoses),
        error=error,
        first_divergence=_first_divergence(visible),
        series=_series(visible[0]) if visible else {},
        **output,
    )
    return _with_summary(report)


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
    message = f"Your file raised {load['type']} while it was loaded, at {where}: {load['message']}"
    return _unrun(exercise, "crashed", message, diagnoses=(diagnosis,), error=error, **output)


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


def _death_message(exit_code: int | None) -> str:
    if exit_code is not None and exit_code < 0:
        return f"Your program was killed by signal {-exit_code} before grading finished."
    return f"Your program ended (exit code {exit_code}) before grading finished: do not call exit(), os._exit() or stop the process."


def _student_error(analysis: CaseAnalysis) -> dict[str, Any]:
    error = dict(analysis.student["error"])
    if analysis.hidden:
        error.update(message="(details of hidden cases are withheld)", step=None, case="hidden")
    else:
        error["case"] = analysis.name
    return error


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


def _with_summary(report: GradeReport) -> GradeReport:
    if report.error:
        error = report.error
        where = f" at line {error['line']}" if error.get("line") else f" during {error['phase']}()"
        when = f" (step {error['step']})" if error.get("step") else ""
        message = f"Your code raised {error['type']}{where}{when}."
    elif report.is_full_score:
        message = "Every check passes."
    else:
        failed = [c.id for c in report.checks if not c.passed]
        message = f"{len(failed)} check(s) fail: {', '.join(failed)}."
    return replace(report, message=message)
