"""`gradelab check-exercises`: proves each exercise grades what its author says it grades.

The reference and every file in `solutions/` must score full marks; every file in `mistakes/`
must score below full and produce the diagnosis its `# expect:` line names.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from grader.grading import grade_submission
from grader.report import GradeReport
from grader.sandbox import Runner
from grader.spec import Exercise
from grader.terminal import printable


@dataclass(frozen=True)
class SelfCheckRow:
    exercise: str
    file: str
    expects: str  # "full marks" or a diagnosis code
    score: str
    got: str
    ok: bool
    problem: str = ""


def check_exercise(exercise: Exercise, runner: Runner) -> list[SelfCheckRow]:
    files: list[tuple[Path, str | None]] = [(exercise.reference_path, None)]
    files += [(f.path, None) for f in exercise.solutions()]
    files += [(f.path, f.label) for f in exercise.mistakes()]
    with ThreadPoolExecutor(max_workers=2 * (os.cpu_count() or 2)) as threads:
        reports = list(threads.map(lambda item: grade_submission(exercise, item[0].read_bytes(), runner), files))
    return [_row(exercise, path, label, report) for (path, label), report in zip(files, reports)]


def _row(exercise: Exercise, path: Path, label: str | None, report: GradeReport) -> SelfCheckRow:
    got = ", ".join(report.codes) or report.outcome
    name = path.relative_to(exercise.path).as_posix()
    score = f"{report.score}/{report.max_score}"
    if label is None:
        problem = "" if report.is_full_score else f"should score full marks ({report.message})"
        return SelfCheckRow(exercise.slug, name, "full marks", score, got, not problem, problem)
    if report.is_full_score:
        problem = "scores full marks"
    elif label not in report.codes:
        problem = f"no {label} diagnosis"
    else:
        problem = ""
    return SelfCheckRow(exercise.slug, name, label, score, got, not problem, problem)


def selfcheck_table(rows: list[SelfCheckRow]) -> str:
    header = f"{'exercise':<12} {'file':<34} {'expects':<22} {'score':>8}  {'got':<40} result"
    lines = [header, "-" * len(header)]
    for row in rows:
        verdict = "ok" if row.ok else f"FAIL: {row.problem}"
        lines.append(f"{row.exercise:<12} {row.file:<34} {row.expects:<22} {row.score:>8}  {printable(row.got)[:40]:<40} {verdict}")
    return printable("\n".join(lines))
