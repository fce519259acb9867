"""Every report the grader writes for the course's own files, saved or compared with a saved set.

For a change that must not change behaviour (a redesign of the grader's insides): grade the
reference, every solution and every labelled mistake of every exercise in the real sandbox, and
keep each report's JSON without its timing. Run it once before the change with `--save`, once
after with `--against`: it prints each file whose report differs, field by field, and exits 1
if any does.

    .venv/bin/python bench/same_reports.py --save /tmp/before.json
    .venv/bin/python bench/same_reports.py --against /tmp/before.json
"""

from __future__ import annotations

import argparse
import json
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader.grading import grade_submission, warm_up  # noqa: E402
from grader.pool import SandboxPool  # noqa: E402
from grader.report import json_safe  # noqa: E402
from grader.spec import Exercise, load_catalog  # noqa: E402

UNSTABLE = ("duration_ms",)  # wall-clock time: the one field that differs between two runs


def course_files(exercise: Exercise) -> list[Path]:
    return [exercise.reference_path] + [f.path for f in exercise.solutions() + exercise.mistakes()]


def reports(exercises: dict[str, Exercise], sandboxes: int) -> dict[str, dict[str, Any]]:
    """Each file's report by its path under the exercises folder, timing left out."""
    pool = SandboxPool(sandboxes)
    pool.wait_ready()
    warm_up(exercises.values(), pool)
    work = [(exercise, path) for exercise in exercises.values() for path in course_files(exercise)]
    try:
        with ThreadPoolExecutor(max_workers=2 * sandboxes) as threads:
            graded = list(threads.map(lambda item: grade_submission(item[0], item[1].read_bytes(), pool), work))
    finally:
        pool.close()
    return {f"{exercise.slug}/{path.relative_to(exercise.path)}": _stable(report.to_json()) for (exercise, path), report in zip(work, graded)}


def _stable(report: dict[str, Any]) -> dict[str, Any]:
    return json_safe({key: value for key, value in report.items() if key not in UNSTABLE})


def differences(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    lines = [f"{name}: only before" for name in sorted(set(before) - set(after))]
    lines += [f"{name}: only after" for name in sorted(set(after) - set(before))]
    for name in sorted(set(before) & set(after)):
        changed = [key for key in sorted(set(before[name]) | set(after[name])) if before[name].get(key) != after[name].get(key)]
        lines += [f"{name}: {key}: {before[name].get(key)!r} -> {after[name].get(key)!r}" for key in changed]
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--save", type=Path, help="write the reports to this file")
    group.add_argument("--against", type=Path, help="compare the reports with this saved file")
    parser.add_argument("--sandboxes", type=int, default=2)
    arguments = parser.parse_args()
    now = reports(load_catalog(), arguments.sandboxes)
    if arguments.save:
        arguments.save.write_text(json.dumps(now, indent=1, sort_keys=True), encoding="utf-8")
        print(f"{len(now)} reports saved to {arguments.save}")
        return 0
    saved = json.loads(arguments.against.read_text(encoding="utf-8"))
    lines = differences(saved, now)
    if lines:
        print("\n".join(lines))
    same = sum(1 for name in set(saved) & set(now) if saved[name] == now[name])
    print(f"{same} of {len(saved)} saved reports identical; {len(set(now) - set(saved))} only after, {len(set(saved) - set(now))} only before")
    return 1 if lines else 0


if __name__ == "__main__":
    sys.exit(main())
