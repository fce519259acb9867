"""What leaves the site as files: the gradebook as CSV, and one submission in Gradescope's format."""

from __future__ import annotations

import csv
import io
from typing import Any

from .gradebook import GradebookRow
from .models import Exercise, Submission

# Gradescope's autograder result: https://gradescope-autograders.readthedocs.io/en/latest/specs/
HIDDEN_CHECK_VISIBILITY = "after_due_date"

# A spreadsheet runs a cell that starts with one of these as a formula (OWASP "CSV injection").
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def gradebook_csv(rows: list[GradebookRow], exercises: list[Exercise]) -> str:
    buffer = io.StringIO()
    # RFC 4180 line ends: the writer then quotes a CR or LF inside a cell instead of breaking the row.
    writer = csv.writer(buffer, lineterminator="\r\n")
    header = ["name", "email"]
    for exercise in exercises:
        header += [f"{exercise.slug} best", f"{exercise.slug} last", f"{exercise.slug} attempts", f"{exercise.slug} late"]
    writer.writerow([_inert_cell(cell) for cell in [*header, "total"]])
    for row in rows:
        line: list[Any] = [row.student.name, row.student.email]
        for exercise in exercises:
            cell = row.cell(exercise)
            line += [_blank_if_none(cell.best), _blank_if_none(cell.last), cell.attempts, "yes" if cell.late else ""]
        writer.writerow([_inert_cell(cell) for cell in [*line, row.total]])
    return buffer.getvalue()


def _inert_cell(value: Any) -> Any:
    """Text a spreadsheet would run as a formula, behind a leading `'` that makes it plain text; numbers as they are."""
    return f"'{value}" if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS) else value


def _blank_if_none(value: int | None) -> int | str:
    return "" if value is None else value


def gradescope_results(submission: Submission) -> dict[str, Any]:
    """The latest grading of `submission` as Gradescope's results.json: checks become tests."""
    result = submission.latest_result
    if result is None:
        return {"score": 0.0, "output": f"Not graded (status: {submission.status.value}).", "tests": []}
    report = result.report
    output = [report.get("message", "")]
    output += [f"[{d['code']}] {d['message']}" for d in report.get("diagnoses", [])]
    if submission.penalty:
        output.append(f"Late: {submission.penalty}% penalty applied ({result.score} before the penalty).")
    return {
        "score": float(submission.final_score if submission.final_score is not None else result.score),
        "execution_time": round((report.get("duration_ms") or 0) / 1000, 3),
        "output": "\n".join(line for line in output if line),
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": [
            {
                "name": check["id"],
                "score": float(check["points"]),
                "max_score": float(check["max_points"]),
                "status": "passed" if check["passed"] else "failed",
                "output": check["message"],
                "visibility": HIDDEN_CHECK_VISIBILITY if check.get("hidden") else "visible",
            }
            for check in report.get("checks", [])
        ],
        "extra_data": {"exercise": report.get("exercise"), "exercise_version": result.exercise_version, "outcome": result.outcome},
    }
