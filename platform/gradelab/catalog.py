"""Exercise folders on disk -> exercise rows, adding a version whenever a folder's content changes."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from grader.spec import Exercise as ExerciseSpec
from grader.spec import load_catalog

from .models import Exercise, ExerciseVersion


def sync_catalog(session: Session, catalog: dict[str, ExerciseSpec]) -> list[str]:
    """Make the database hold every exercise of `catalog` at its current version; the slugs that changed."""
    changed = []
    for position, spec in enumerate(catalog.values()):
        exercise = session.scalar(select(Exercise).where(Exercise.slug == spec.slug))
        if exercise is None:
            exercise = Exercise(slug=spec.slug, position=position)
            session.add(exercise)
        exercise.position = position
        if exercise.current_version is None or exercise.current_version.version != spec.version:
            exercise.current_version = _version_of(session, exercise, spec)
            changed.append(spec.slug)
    session.commit()
    return changed


def _version_of(session: Session, exercise: Exercise, spec: ExerciseSpec) -> ExerciseVersion:
    """The stored row of this folder's version: an earlier one when a change was reverted."""
    known = next((v for v in exercise.versions if v.version == spec.version), None)
    if known is not None:
        return known
    version = ExerciseVersion(
        exercise=exercise,
        version=spec.version,
        title_en=spec.title["en"],
        title_zh=spec.title["zh"],
        statement_en=spec.statement("en"),
        statement_zh=spec.statement("zh"),
        starter=spec.starter(),
        max_score=spec.max_score,
        max_source_bytes=spec.limits.max_source_bytes,
    )
    session.add(version)
    return version


def exercise_catalog(app: Flask) -> dict[str, ExerciseSpec]:
    """The exercise folders the site grades against, read once per process."""
    catalog = app.extensions.get("gradelab_catalog")
    if catalog is None:
        folder = app.config["EXERCISES_DIR"]
        catalog = app.extensions["gradelab_catalog"] = load_catalog(Path(folder) if folder else None)
    return catalog


def exercise_spec(app: Flask, slug: str, version: str) -> ExerciseSpec | None:
    """The spec of `slug` as its folder holds it now.

    When the database knows another version than this process read at start (`gradelab
    prepare` stored an edited folder), the folders are read again: a running site or worker
    grades and regrades against the new version without a restart.
    """
    spec = exercise_catalog(app).get(slug)
    if spec is None or spec.version != version:
        app.extensions.pop("gradelab_catalog", None)
        spec = exercise_catalog(app).get(slug)
    return spec
