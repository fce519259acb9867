"""The figures of the instructor's dashboard: the gradebook and each exercise's analytics.

Computed from a few columns of the submissions and results tables, never from whole rows: a
course's submissions carry their sources and reports, which no figure here needs. Late
penalties are applied here, so the page, the CSV and the API always agree.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import Exercise, GradeResult, Role, Status, Submission, User, final_score

HISTOGRAM_BINS = 10  # scores in tenths of the maximum; a full score has its own bar


@dataclass
class Cell:
    """One student on one exercise."""

    attempts: int = 0
    best: int | None = None
    last: int | None = None
    late: bool = False  # the best score came from a late submission (its penalty applied)


@dataclass
class GradebookRow:
    student: User
    cells: dict[int, Cell] = field(default_factory=dict)

    def cell(self, exercise: Exercise) -> Cell:
        return self.cells.get(exercise.id, Cell())

    @property
    def total(self) -> int:
        return sum(cell.best or 0 for cell in self.cells.values())


def exercises_in_order(session: Session) -> list[Exercise]:
    return list(session.scalars(select(Exercise).where(Exercise.current_version_id.is_not(None)).order_by(Exercise.position)))


def gradebook(session: Session) -> list[GradebookRow]:
    """Every student, with their cells for the exercises they tried; ordered by name."""
    students = session.scalars(select(User).where(User.role == Role.STUDENT).order_by(User.name, User.id)).all()
    rows = {student.id: GradebookRow(student) for student in students}
    columns = (Submission.user_id, Submission.exercise_id, Submission.status, Submission.score, Submission.penalty, Submission.late)
    for user_id, exercise_id, status, score, penalty, late in session.execute(select(*columns).order_by(Submission.id)):
        if user_id not in rows:  # an instructor trying an exercise
            continue
        cell = rows[user_id].cells.setdefault(exercise_id, Cell())
        cell.attempts += 1
        final = final_score(score, penalty) if status == Status.GRADED else None
        if final is None:
            continue
        cell.last = final
        if cell.best is None or final > cell.best:
            cell.best, cell.late = final, late
    return list(rows.values())


def sorted_rows(rows: list[GradebookRow], exercises: list[Exercise], key: str, descending: bool) -> list[GradebookRow]:
    """Sort by `name`, `email`, `total`, or an exercise's slug (its best score; untried last)."""
    by_slug = {exercise.slug: exercise for exercise in exercises}
    if key in by_slug:
        exercise = by_slug[key]
        if descending:
            return sorted(rows, key=lambda row: (row.cell(exercise).best is not None, row.cell(exercise).best or 0), reverse=True)
        return sorted(rows, key=lambda row: (row.cell(exercise).best is None, row.cell(exercise).best or 0))
    if key == "total":
        return sorted(rows, key=lambda row: row.total, reverse=descending)
    if key == "email":
        return sorted(rows, key=lambda row: row.student.email, reverse=descending)
    return sorted(rows, key=lambda row: row.student.name.lower(), reverse=descending)


def filtered_rows(rows: list[GradebookRow], text: str) -> list[GradebookRow]:
    needle = text.strip().lower()
    return [row for row in rows if needle in row.student.name.lower() or needle in row.student.email] if needle else rows


@dataclass
class Analytics:
    exercise: Exercise
    submissions: int
    students: int
    full_score_students: int
    histogram: list[int]  # students by best score: HISTOGRAM_BINS bars, then a bar for the full score
    diagnoses: list[tuple[str, int]]  # code, submissions whose latest result names it; most frequent first
    median_attempts_to_full: float | None

    @property
    def pass_rate(self) -> float | None:
        return self.full_score_students / self.students if self.students else None

    @property
    def histogram_labels(self) -> list[str]:
        step = 100 // HISTOGRAM_BINS
        return [f"{low}–{low + step - 1}%" for low in range(0, 100, step)] + ["100%"]


def exercise_analytics(session: Session, exercise: Exercise) -> Analytics:
    max_score = exercise.current_version.max_score
    scores_by_student: dict[int, list[int | None]] = defaultdict(list)  # in order; None: not graded
    query = (
        select(Submission.user_id, Submission.status, Submission.score, Submission.penalty)
        .join(User)
        .where(Submission.exercise_id == exercise.id, User.role == Role.STUDENT)
        .order_by(Submission.id)
    )
    submissions = 0
    for user_id, status, score, penalty in session.execute(query):
        submissions += 1
        scores_by_student[user_id].append(final_score(score, penalty) if status == Status.GRADED else None)
    histogram = [0] * (HISTOGRAM_BINS + 1)
    attempts_to_full = []
    for scores in scores_by_student.values():
        graded = [score for score in scores if score is not None]
        if graded:
            histogram[_bin(max(graded), max_score)] += 1
        first_full = next((n for n, score in enumerate(scores, 1) if score == max_score), None)
        if first_full is not None:
            attempts_to_full.append(first_full)
    return Analytics(
        exercise=exercise,
        submissions=submissions,
        students=len(scores_by_student),
        full_score_students=len(attempts_to_full),
        histogram=histogram,
        diagnoses=_diagnosis_counts(session, exercise),
        median_attempts_to_full=statistics.median(attempts_to_full) if attempts_to_full else None,
    )


def _bin(score: int, max_score: int) -> int:
    if score >= max_score:
        return HISTOGRAM_BINS
    return min(HISTOGRAM_BINS - 1, score * HISTOGRAM_BINS // max_score)


def _diagnosis_counts(session: Session, exercise: Exercise) -> list[tuple[str, int]]:
    """How many students' submissions each diagnosis code appears in, judged by each one's latest result."""
    query = (
        select(GradeResult.submission_id, GradeResult.diagnosis_codes)
        .join(Submission)
        .join(User)
        .where(Submission.exercise_id == exercise.id, User.role == Role.STUDENT)
        .order_by(GradeResult.id)
    )
    latest = dict(session.execute(query).all())  # later results overwrite earlier ones
    return Counter(code for codes in latest.values() for code in codes.split()).most_common()
