"""The instructor's dashboard: roster, gradebook, analytics, submissions, regrading, deadlines, exports."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from flask import Blueprint, abort, flash, json, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import Select, func, select
from werkzeug.wrappers import Response

from .db import db
from .exports import gradebook_csv, gradescope_results
from .forms import ActionForm, ExerciseSettingsForm
from .gradebook import exercise_analytics, exercises_in_order, filtered_rows, gradebook, sorted_rows
from .i18n import select_locale
from .models import Exercise, GradeResult, LatePolicy, Status, Submission, User
from .security import only_for
from .submissions import as_utc, poll_ms, request_regrade

bp = Blueprint("instructor", __name__, url_prefix="/instructor")
bp.before_request(only_for(lambda user: user.is_instructor))

SUBMISSIONS_PER_PAGE = 50


@bp.get("/")
def dashboard() -> str:
    exercises = exercises_in_order(db.session)
    return render_template(
        "instructor/dashboard.html", summaries=[exercise_analytics(db.session, e) for e in exercises], lang=select_locale()
    )


@bp.get("/roster")
def roster() -> str:
    counts = dict(db.session.execute(select(Submission.user_id, func.count(Submission.id)).group_by(Submission.user_id)).all())
    users = db.session.scalars(select(User).order_by(User.role, User.name)).all()
    return render_template("instructor/roster.html", users=users, counts=counts)


@bp.get("/gradebook")
def gradebook_page() -> str:
    exercises = exercises_in_order(db.session)
    sort, descending, text = request.args.get("sort", "name"), request.args.get("desc") == "1", request.args.get("q", "")
    rows = sorted_rows(filtered_rows(gradebook(db.session), text), exercises, sort, descending)
    return render_template(
        "instructor/gradebook.html", rows=rows, exercises=exercises, sort=sort, descending=descending, q=text, lang=select_locale()
    )


@bp.get("/gradebook.csv")
def gradebook_export() -> Response:
    body = gradebook_csv(gradebook(db.session), exercises_in_order(db.session))
    return Response(body, mimetype="text/csv", headers={"Content-Disposition": "attachment; filename=gradebook.csv"})


@bp.get("/exercises/<slug>")
def exercise(slug: str) -> str:
    found = _exercise(slug)
    form = ExerciseSettingsForm(
        published=found.published,
        deadline=found.deadline and as_utc(found.deadline).replace(tzinfo=None),
        late_policy=found.late_policy.value,
        late_penalty=found.late_penalty,
    )
    return _exercise_page(found, form)


@bp.post("/exercises/<slug>/settings")
def exercise_settings(slug: str) -> Response | tuple[str, int]:
    found = _exercise(slug)
    form = ExerciseSettingsForm()
    if not form.validate_on_submit():
        return _exercise_page(found, form), 400
    found.published = form.published.data
    found.deadline = form.deadline.data.replace(tzinfo=UTC) if form.deadline.data else None
    found.late_policy = LatePolicy(form.late_policy.data)
    found.late_penalty = form.late_penalty.data
    db.session.commit()
    flash(_("Saved."), "info")
    return redirect(url_for(".exercise", slug=slug), 303)


@bp.post("/exercises/<slug>/regrade")
def regrade_exercise(slug: str) -> Response:
    found = _exercise(slug)
    if ActionForm().validate_on_submit():
        queued = request_regrade(_outdated_submissions(found), current_user)
        flash(_("%(count)s submissions queued for regrading.", count=len(queued)), "info")
    return redirect(url_for(".exercise", slug=slug), 303)


@bp.get("/exercises/<slug>/regrade-progress")
def regrade_progress(slug: str) -> str:
    found = _exercise(slug)
    return render_template("instructor/_regrade_progress.html", exercise=found, progress=_regrade_progress(found))


@bp.get("/submissions")
def submissions() -> str:
    filters = {key: request.args.get(key, "").strip() for key in ("student", "exercise", "outcome", "since", "until")}
    page = max(1, request.args.get("page", 1, type=int))
    query = _filtered_submissions(filters)
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    shown = db.session.scalars(
        query.order_by(Submission.id.desc()).limit(SUBMISSIONS_PER_PAGE).offset((page - 1) * SUBMISSIONS_PER_PAGE)
    ).all()
    return render_template(
        "instructor/submissions.html",
        submissions=shown,
        filters=filters,
        page=page,
        pages=max(1, -(-total // SUBMISSIONS_PER_PAGE)),
        total=total,
        exercises=exercises_in_order(db.session),
        outcomes=db.session.scalars(select(Submission.outcome).where(Submission.outcome.is_not(None)).distinct()).all(),
        lang=select_locale(),
    )


@bp.get("/submissions/<int:submission_id>")
def submission(submission_id: int) -> str:
    found = _submission(submission_id)
    poll_url = url_for(".submission_result", submission_id=found.id)
    return render_template("instructor/submission.html", submission=found, lang=select_locale(), poll_ms=poll_ms(found), poll_url=poll_url)


@bp.get("/submissions/<int:submission_id>/result")
def submission_result(submission_id: int) -> str:
    found = _submission(submission_id)
    poll_url = url_for(".submission_result", submission_id=found.id)
    return render_template("student/_result.html", submission=found, poll_ms=poll_ms(found), poll_url=poll_url)


@bp.post("/submissions/<int:submission_id>/regrade")
def regrade_submission(submission_id: int) -> Response:
    found = _submission(submission_id)
    if ActionForm().validate_on_submit() and not request_regrade([found.id], current_user):
        flash(_("This submission is still being graded."), "error")
    return redirect(url_for(".submission", submission_id=found.id), 303)


@bp.get("/submissions/<int:submission_id>/results.json")
def submission_results_json(submission_id: int) -> Response:
    found = _submission(submission_id)
    response = Response(json.dumps(gradescope_results(found), indent=2), mimetype="application/json")
    response.headers["Content-Disposition"] = f"attachment; filename=results-{found.id}.json"
    return response


def _exercise(slug: str) -> Exercise:
    found = db.session.scalar(select(Exercise).where(Exercise.slug == slug))
    if found is None or found.current_version is None:
        abort(404)
    return found


def _submission(submission_id: int) -> Submission:
    return db.session.get(Submission, submission_id) or abort(404)


def _exercise_page(exercise: Exercise, form: ExerciseSettingsForm) -> str:
    return render_template(
        "instructor/exercise.html",
        exercise=exercise,
        analytics=exercise_analytics(db.session, exercise),
        progress=_regrade_progress(exercise),
        form=form,
        action=ActionForm(),
        lang=select_locale(),
    )


def _latest_versions(exercise: Exercise) -> dict[int, str]:
    """Each submission of `exercise` -> the exercise version of its latest result."""
    latest = (
        select(GradeResult.submission_id, func.max(GradeResult.id).label("result_id"))
        .join(Submission)
        .where(Submission.exercise_id == exercise.id)
        .group_by(GradeResult.submission_id)
        .subquery()
    )
    rows = db.session.execute(
        select(latest.c.submission_id, GradeResult.exercise_version).join(GradeResult, GradeResult.id == latest.c.result_id)
    )
    return dict(rows.all())


def _outdated_submissions(exercise: Exercise) -> list[int]:
    """Finished submissions whose latest grading used another version of the exercise than today's."""
    current = exercise.current_version.version
    versions = _latest_versions(exercise)
    finished = select(Submission.id).where(Submission.exercise_id == exercise.id, Submission.status.in_([Status.GRADED, Status.ERROR]))
    return [sid for sid in db.session.scalars(finished.order_by(Submission.id)) if versions.get(sid) != current]


def _regrade_progress(exercise: Exercise) -> dict[str, int]:
    versions = _latest_versions(exercise)
    statuses = db.session.execute(select(Submission.id, Submission.status).where(Submission.exercise_id == exercise.id)).all()
    current = exercise.current_version.version
    return {
        "total": len(statuses),
        "current": sum(1 for sid, status in statuses if status == Status.GRADED and versions.get(sid) == current),
        "pending": sum(1 for _, status in statuses if not status.is_final),
    }


def _filtered_submissions(filters: dict[str, str]) -> Select[tuple[Submission]]:
    query = select(Submission).join(User).join(Exercise, Submission.exercise_id == Exercise.id)
    if filters["student"]:
        needle = f"%{filters['student'].lower()}%"
        query = query.where(func.lower(User.name).like(needle) | User.email.like(needle))
    if filters["exercise"]:
        query = query.where(Exercise.slug == filters["exercise"])
    if filters["outcome"]:
        query = query.where(Submission.outcome == filters["outcome"])
    for key, bound in (("since", time.min), ("until", time.max)):
        day = _date(filters[key])
        if day is not None:
            moment = datetime.combine(day, bound, tzinfo=UTC)
            query = query.where(Submission.created_at >= moment if key == "since" else Submission.created_at <= moment)
    return query


def _date(text: str) -> date | None:
    try:
        return datetime.strptime(text, "%Y-%m-%d").date() if text else None
    except ValueError:
        return None
