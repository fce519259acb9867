"""How long the instructor's pages take for a large course, beside what whole rows would cost.

Seeds a fresh database (SQLite by default) with a course: `--students` students, each with a
few graded submissions per exercise, every result carrying a real report (a graded mistake of
`linear`, trace series included, about 20 KB). Then times, through the Flask test client, the
gradebook, its CSV, one exercise's analytics and the dashboard. Baseline in the same run: only
loading the same submissions and results as whole ORM rows (sources and reports), which is what
the figures would cost if they were computed from rows rather than from the few columns they need.

    .venv/bin/python bench/dashboard.py [--students 1000] [--runs 5] [--database-url URL]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from site_helpers import make_app  # noqa: E402
from sqlalchemy import insert, select  # noqa: E402

from gradelab.db import db  # noqa: E402
from gradelab.models import Exercise, GradeResult, Role, Status, Submission, User, utcnow  # noqa: E402
from gradelab.passwords import hash_password  # noqa: E402
from grader.grading import grade_submission  # noqa: E402
from grader.pool import SandboxPool  # noqa: E402
from grader.spec import load_catalog  # noqa: E402

ATTEMPTS = {"linear": 3, "quadratic": 2, "matrix_mse": 1}


def real_report() -> dict:
    exercise = load_catalog(ROOT / "exercises")["linear"]
    with SandboxPool(1) as pool:
        return grade_submission(exercise, (exercise.path / "mistakes" / "no_zero_grad.py").read_bytes(), pool).to_json()


def seed_course(app, students: int, report: dict) -> int:
    with app.app_context():
        exercises = {e.slug: e for e in db.session.scalars(select(Exercise))}
        password = hash_password("not used")
        db.session.execute(
            insert(User),
            [
                {"email": f"s{n}@course.test", "name": f"Student {n:05d}", "password_hash": password, "role": Role.STUDENT}
                for n in range(students)
            ],
        )
        user_ids = db.session.scalars(select(User.id).where(User.role == Role.STUDENT)).all()
        source = (ROOT / "exercises/linear/mistakes/no_zero_grad.py").read_bytes()
        rows = []
        for user_id in user_ids:
            for slug, attempts in ATTEMPTS.items():
                exercise = exercises[slug]
                for attempt in range(attempts):
                    score = 100 if attempt == attempts - 1 and user_id % 3 else 45
                    rows.append(
                        {
                            "user_id": user_id,
                            "exercise_id": exercise.id,
                            "exercise_version_id": exercise.current_version_id,
                            "source": source,
                            "status": Status.GRADED,
                            "score": score,
                            "max_score": 100,
                            "outcome": "ok",
                            "late": False,
                            "penalty": 0,
                        }
                    )
        db.session.execute(insert(Submission), rows)
        versions = {e.id: e.current_version.version for e in exercises.values()}
        submitted = db.session.execute(select(Submission.id, Submission.exercise_id, Submission.score)).all()
        db.session.execute(
            insert(GradeResult),
            [
                {
                    "submission_id": sid,
                    "exercise_version": versions[eid],
                    "score": score,
                    "max_score": 100,
                    "outcome": "ok",
                    "diagnosis_codes": "" if score == 100 else "missing_zero_grad",
                    "report": report,
                    "created_at": utcnow(),
                }
                for sid, eid, score in submitted
            ],
        )
        db.session.commit()
        return len(submitted)


def median_ms(action: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--database-url", default=None, help="an empty database; default: SQLite in a temporary folder")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        config = {"SQLALCHEMY_DATABASE_URI": args.database_url} if args.database_url else {}
        app = make_app(Path(folder), None, **config)
        count = seed_course(app, args.students, real_report())
        with app.app_context():
            teacher = User(
                email="teacher@course.test", name="Teacher", password_hash=hash_password("teacher password"), role=Role.INSTRUCTOR
            )
            db.session.add(teacher)
            db.session.commit()
            teacher_id = teacher.get_id()  # the id and session token, as a signed-in session holds them
        client = app.test_client()
        with client.session_transaction() as session:
            session["_user_id"] = teacher_id
            session["_fresh"] = True

        def get(url: str) -> Callable[[], object]:
            def fetch() -> object:
                response = client.get(url)
                assert response.status_code == 200, (url, response.status_code)
                return response

            return fetch

        def whole_rows() -> None:
            with app.app_context():
                for submission in db.session.scalars(select(Submission)):
                    submission.source  # noqa: B018
                for result in db.session.scalars(select(GradeResult)):
                    result.report  # noqa: B018
                db.session.remove()

        backend = app.config["SQLALCHEMY_DATABASE_URI"].split(":")[0]
        print(f"course: {args.students} students, {count} graded submissions, {backend}; medians of {args.runs}")
        baseline = median_ms(whole_rows, args.runs)
        print(f"  {'baseline: load the submissions and results as whole rows':58s} {baseline:9.0f} ms")
        for label, url in (
            ("gradebook page (sorted by total)", "/instructor/gradebook?sort=total&desc=1"),
            ("gradebook CSV", "/instructor/gradebook.csv"),
            ("exercise analytics (linear)", "/instructor/exercises/linear"),
            ("dashboard (analytics of every exercise)", "/instructor/"),
        ):
            took = median_ms(get(url), args.runs)
            print(f"  {label:58s} {took:9.0f} ms  ({took / baseline:.2f}x the baseline)")


if __name__ == "__main__":
    main()
