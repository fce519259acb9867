"""Tables of the platform. Flask-free: the grading worker, the CLI and migrations import it alone."""

from __future__ import annotations

import enum
import secrets
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Enum, ForeignKey, Integer, LargeBinary, MetaData, String, Text, UniqueConstraint, false
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, validates

from .emails import email_key

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _timestamp(**options: Any) -> Any:
    """UTC, timezone-aware, set when the row is written."""
    return mapped_column(DateTime(timezone=True), default=utcnow, **options)


class Role(enum.StrEnum):
    STUDENT = "student"
    INSTRUCTOR = "instructor"
    ADMIN = "admin"


class LatePolicy(enum.StrEnum):
    """After an exercise's deadline: accept with a penalty on the score, or refuse."""

    PENALTY = "penalty"
    REFUSE = "refuse"


class Status(enum.StrEnum):
    """queued -> running -> graded | error; a grading attempt that died puts it back to queued."""

    QUEUED = "queued"
    RUNNING = "running"
    GRADED = "graded"
    ERROR = "error"

    @property
    def is_final(self) -> bool:
        return self in (Status.GRADED, Status.ERROR)


def _enum(kind: type[enum.Enum], name: str) -> Enum:
    """A VARCHAR with a CHECK constraint: the same on SQLite and PostgreSQL, easy to migrate."""
    return Enum(kind, name=name, native_enum=False, create_constraint=True, length=16, values_callable=lambda k: [m.value for m in k])


def new_session_token() -> str:
    return secrets.token_hex(16)


def _email_key_of_row(context: Any) -> str:
    """The default for rows inserted without the ORM (bulk inserts skip `User._keep_email_key`)."""
    return email_key(context.get_current_parameters()["email"])


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    # The address with look-alike spellings folded (emails.email_key): one account per key.
    email_key: Mapped[str] = mapped_column(String(254), unique=True, index=True, default=_email_key_of_row)
    name: Mapped[str] = mapped_column(String(80))
    password_hash: Mapped[str] = mapped_column(String(256))
    # Part of every session cookie's user id: a new one (at sign-out or a password change) ends
    # every session signed in before, even a copied cookie.
    session_token: Mapped[str] = mapped_column(String(32), default=new_session_token)
    role: Mapped[Role] = mapped_column(_enum(Role, "role"), default=Role.STUDENT)
    locale: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = _timestamp()

    submissions: Mapped[list[Submission]] = relationship(back_populates="user")

    # Flask-Login's user protocol, spelled out to keep this module free of Flask.
    is_active = True
    is_authenticated = True
    is_anonymous = False

    def get_id(self) -> str:
        """What the session cookie holds: the id and the current session token (security.py checks both)."""
        return f"{self.id}:{self.session_token}"

    def end_sessions(self) -> None:
        """Sign this user out everywhere: cookies made before no longer find the user."""
        self.session_token = new_session_token()

    @validates("email")
    def _keep_email_key(self, _key: str, email: str) -> str:
        self.email_key = email_key(email)
        return email

    @validates("password_hash")
    def _end_sessions_on_new_password(self, _key: str, password_hash: str) -> str:
        if self.password_hash is not None:  # a change, not the first password of a new account
            self.end_sessions()
        return password_hash

    @property
    def is_instructor(self) -> bool:
        return self.role in (Role.INSTRUCTOR, Role.ADMIN)

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN


class ApiToken(Base):
    """A bearer token for the JSON API: shown once when made, stored only as its SHA-256."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))  # enough to tell tokens apart in a list
    created_at: Mapped[datetime] = _timestamp()
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    user: Mapped[User] = relationship()


class Exercise(Base):
    """One exercise folder, by slug; each change of its files adds an ExerciseVersion."""

    __tablename__ = "exercises"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    published: Mapped[bool] = mapped_column(default=True)
    deadline: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    late_policy: Mapped[LatePolicy] = mapped_column(_enum(LatePolicy, "late_policy"), default=LatePolicy.PENALTY, server_default="penalty")
    late_penalty: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # percent of the score
    current_version_id: Mapped[int | None] = mapped_column(ForeignKey("exercise_versions.id", use_alter=True))
    created_at: Mapped[datetime] = _timestamp()

    current_version: Mapped[ExerciseVersion | None] = relationship(foreign_keys=[current_version_id], post_update=True)
    versions: Mapped[list[ExerciseVersion]] = relationship(
        back_populates="exercise", foreign_keys="ExerciseVersion.exercise_id", order_by="ExerciseVersion.id"
    )


class ExerciseVersion(Base):
    """What a student saw and was graded against: kept after the folder changes."""

    __tablename__ = "exercise_versions"
    __table_args__ = (UniqueConstraint("exercise_id", "version", name="uq_exercise_versions_exercise_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    exercise_id: Mapped[int] = mapped_column(ForeignKey("exercises.id"))
    version: Mapped[str] = mapped_column(String(64))
    title_en: Mapped[str] = mapped_column(String(200))
    title_zh: Mapped[str] = mapped_column(String(200))
    statement_en: Mapped[str] = mapped_column(Text)
    statement_zh: Mapped[str] = mapped_column(Text)
    starter: Mapped[str] = mapped_column(Text)
    max_score: Mapped[int]
    max_source_bytes: Mapped[int]
    created_at: Mapped[datetime] = _timestamp()

    exercise: Mapped[Exercise] = relationship(back_populates="versions", foreign_keys=[exercise_id])

    def title(self, lang: str) -> str:
        return self.title_zh if lang == "zh" else self.title_en

    def statement(self, lang: str) -> str:
        return self.statement_zh if lang == "zh" else self.statement_en


def final_score(score: int | None, penalty: int) -> int | None:
    """The score after a late penalty in percent, as the gradebook counts it."""
    return None if score is None else round(score * (100 - penalty) / 100)


class Submission(Base):
    """The source of truth for one attempt: stored before it is graded, never deleted by grading."""

    __tablename__ = "submissions"
    __table_args__ = (UniqueConstraint("user_id", "client_token", name="uq_submissions_user_token"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    exercise_id: Mapped[int] = mapped_column(ForeignKey("exercises.id"), index=True)
    exercise_version_id: Mapped[int] = mapped_column(ForeignKey("exercise_versions.id"))
    # Bytes as received: a file that is not UTF-8 is graded (and reported) as it is, not repaired.
    source: Mapped[bytes] = mapped_column(LargeBinary)
    # One token per rendered form: a second click on "Submit" finds the first submission.
    client_token: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[Status] = mapped_column(_enum(Status, "status"), default=Status.QUEUED, index=True)
    # Queued by an instructor's regrade, not by the student: a lower lane, outside the student's in-flight limit.
    regrade: Mapped[bool] = mapped_column(default=False, server_default=false())
    score: Mapped[int | None]
    max_score: Mapped[int | None]
    outcome: Mapped[str | None] = mapped_column(String(32))
    # Until a final status, the row has a deadline: past it, the sweeper queues it again. The
    # token names the one grading attempt allowed to store a result.
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    lease_token: Mapped[str | None] = mapped_column(String(32))
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Sent after the exercise's deadline, and the penalty (percent) its policy gave then.
    late: Mapped[bool] = mapped_column(default=False, server_default=false())
    penalty: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = _timestamp()
    updated_at: Mapped[datetime] = _timestamp(onupdate=utcnow)

    user: Mapped[User] = relationship(back_populates="submissions")
    exercise: Mapped[Exercise] = relationship()
    exercise_version: Mapped[ExerciseVersion] = relationship()
    events: Mapped[list[SubmissionEvent]] = relationship(order_by="SubmissionEvent.id", back_populates="submission")
    results: Mapped[list[GradeResult]] = relationship(order_by="GradeResult.id", back_populates="submission")

    @property
    def source_text(self) -> str:
        return self.source.decode("utf-8", errors="replace")

    @property
    def latest_result(self) -> GradeResult | None:
        return self.results[-1] if self.results else None

    @property
    def final_score(self) -> int | None:
        return final_score(self.score, self.penalty)


class SubmissionEvent(Base):
    """Each status a submission went through, with its time: the history a student or TA can read."""

    __tablename__ = "submission_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    status: Mapped[Status] = mapped_column(_enum(Status, "status"))
    detail: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = _timestamp()

    submission: Mapped[Submission] = relationship(back_populates="events")


class GradeResult(Base):
    """One grading of a submission: the grader's JSON report, against the version it was graded with."""

    __tablename__ = "grade_results"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    exercise_version: Mapped[str] = mapped_column(String(64))
    score: Mapped[int]
    max_score: Mapped[int]
    outcome: Mapped[str] = mapped_column(String(32))
    # The report's diagnosis codes, space-separated: the dashboard counts them without reading reports.
    diagnosis_codes: Mapped[str] = mapped_column(String(1000), default="", server_default="")
    report: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = _timestamp()

    submission: Mapped[Submission] = relationship(back_populates="results")
