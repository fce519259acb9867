"""A report as people read it in a terminal: headline, checks, diagnoses, first divergence, output.

What a submission or a server wrote reaches the terminal only through `grader.terminal`.
"""

from __future__ import annotations

from typing import Any

from grader.formatting import format_values
from grader.report import GradeReport
from grader.terminal import printable

OUTPUT_LINES_SHOWN = 12


def _paint(text: str, color: str, use_color: bool) -> str:
    codes = {"green": "32", "red": "31", "yellow": "33", "bold": "1", "dim": "2"}
    return f"\033[{codes[color]}m{text}\033[0m" if use_color else text


def text_report(report: GradeReport, use_color: bool = False) -> str:
    report = GradeReport.from_json(printable(report.to_json()))  # every field may quote the submission
    full = report.is_full_score
    headline = f"{report.exercise}: {report.score}/{report.max_score} ({report.outcome})"
    lines = [_paint(headline, "green" if full else "red", use_color), report.message, *(f"Note: {note}" for note in report.notes)]
    if report.error and report.error.get("line"):
        lines += ["", f"  line {report.error['line']}: {report.error.get('text') or ''}", f"  {report.error['type']}: {report.error['message']}"]
    lines += ["", _paint("Checks", "bold", use_color)]
    for check in report.checks:
        mark = _paint("PASS", "green", use_color) if check.passed else _paint("FAIL", "red", use_color)
        lines.append(f"  {mark} {check.id:<11} {check.points:>3}/{check.max_points:<3} {check.message}")
    if report.diagnoses:
        lines += ["", _paint("Diagnoses", "bold", use_color)]
        for diagnosis in report.diagnoses:
            lines.append(f"  [{diagnosis.code}] {diagnosis.message}")
    if report.first_divergence:
        lines += ["", _paint("First divergence", "bold", use_color), "  " + divergence_text(report.first_divergence)]
    if report.stdout:
        lines += ["", _paint("Your output", "bold", use_color), *_output_excerpt(report)]
    lines += ["", _paint(f"graded in {report.duration_ms:.0f} ms", "dim", use_color)]
    return "\n".join(lines)


def divergence_text(divergence: dict[str, Any]) -> str:
    quantity = divergence["quantity"]
    name = divergence.get("parameter")
    what = {
        "forward": "forward(x) before training",
        "loss": "the loss",
        "loss_graph": "the loss (not in the graph)",
        "grad": f"{name}.grad after backward()",
        "param": f"{name} after update(lr)",
        "fault": f"{name} after update(lr)",
        "shape": f"the shape of {name}",
        "prediction": "the prediction after training",
        "error": "an exception",
        "incomplete": "the run stopped",
    }.get(quantity, quantity)
    where = f"case {divergence['case']}"
    if divergence.get("step"):
        where += f", step {divergence['step']} (epoch {divergence['epoch']}, sample {divergence['sample']})"
    if divergence.get("expected") is None and divergence.get("actual") is None:
        return f"{where}: {what}"
    return f"{where}: {what}: expected {format_values(divergence.get('expected'))}, got {format_values(divergence.get('actual'))}"


def _output_excerpt(report: GradeReport) -> list[str]:
    lines = report.stdout.splitlines()
    shown = [f"  | {line}" for line in lines[:OUTPUT_LINES_SHOWN]]
    if len(lines) > OUTPUT_LINES_SHOWN:
        shown.append(f"  ({len(lines) - OUTPUT_LINES_SHOWN} more lines)")
    if report.stdout_truncated:
        shown.append("  (output truncated at the size limit)")
    return shown
