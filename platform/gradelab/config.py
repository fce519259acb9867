"""Every setting of the site in one place: defaults, then GRADELAB_* environment variables.

Secrets never have a default: the key comes from GRADELAB_SECRET_KEY, or from the instance folder's
`secret_key` file that `gradelab serve` writes once for the embedded default.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

PACKAGE_DIR = Path(__file__).resolve().parent
PLATFORM_DIR = PACKAGE_DIR.parent
REPOSITORY_DIR = PLATFORM_DIR.parent

LANGUAGES = ("en", "zh")


def default_config(instance_path: str) -> dict[str, Any]:
    instance = Path(instance_path)
    return {
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{instance / 'gradelab.sqlite'}",
        "MIGRATIONS_DIR": str(REPOSITORY_DIR / "migrations"),
        "VENDOR_DIR": str(PLATFORM_DIR / "node_modules"),
        "EXERCISES_DIR": None,  # None: grader.spec's default (GRADELAB_EXERCISES_DIR or ./exercises)
        "GRADING_WORKERS": 2,
        # "inprocess": grading threads in the web process (embedded default); "celery": jobs on
        # Redis for `gradelab worker` processes, on this machine or others.
        "GRADING_BACKEND": "inprocess",
        "BROKER_URL": "redis://127.0.0.1:6379/0",
        "GRADING_QUEUE": "grading",
        # An unfinished submission past its lease goes back to the queue (a killed worker, a lost job).
        # Longer than any exercise's timeout_s plus the grading around it.
        "GRADING_LEASE_S": 120.0,
        "SWEEP_INTERVAL_S": 10.0,
        # Gradings a submission may start; one whose gradings keep dying then ends as `error`.
        "GRADING_MAX_ATTEMPTS": 3,
        # Submissions of one student queued or running at once; the next one gets a 429 until one is graded.
        "MAX_SUBMISSIONS_IN_FLIGHT": 2,
        # A little above the largest source an exercise accepts, so a big paste gets a clean 413.
        "MAX_CONTENT_LENGTH": 1024 * 1024,
        "MAX_FORM_MEMORY_SIZE": 1024 * 1024,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": False,  # also Secure on any request that arrived over HTTPS (security.py)
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        # Failed sign-ins (lockout.py): per account from one address, or from one known browser...
        "LOGIN_RATE_LIMIT": "5 per minute; 30 per hour",
        # ...and per account from all addresses together: short, so its owner in a new browser waits minutes.
        "LOGIN_ACCOUNT_RATE_LIMIT": "10 per 10 minutes",
        "LOGIN_KNOWN_BROWSER_DAYS": 180,
        "RATELIMIT_STORAGE_URI": "memory://",
        "RATELIMIT_HEADERS_ENABLED": True,
        "BABEL_DEFAULT_LOCALE": "en",
        "BABEL_TRANSLATION_DIRECTORIES": str(PACKAGE_DIR / "translations"),
        "PROXY_FIX": False,  # behind a reverse proxy that sets X-Forwarded-Proto
        "DEMO_ACCOUNTS": True,
    }


_FROM_ENVIRONMENT = {
    "SECRET_KEY": str,
    "SQLALCHEMY_DATABASE_URI": str,
    "EXERCISES_DIR": str,
    "VENDOR_DIR": str,
    "GRADING_WORKERS": int,
    "GRADING_BACKEND": str,
    "BROKER_URL": str,
    "GRADING_QUEUE": str,
    "GRADING_LEASE_S": float,
    "SWEEP_INTERVAL_S": float,
    "GRADING_MAX_ATTEMPTS": int,
    "MAX_SUBMISSIONS_IN_FLIGHT": int,
    "SESSION_COOKIE_SECURE": lambda v: v.lower() in ("1", "true", "yes"),
    "PROXY_FIX": lambda v: v.lower() in ("1", "true", "yes"),
    "DEMO_ACCOUNTS": lambda v: v.lower() in ("1", "true", "yes"),
    "RATELIMIT_STORAGE_URI": str,
    "LOGIN_RATE_LIMIT": str,
    "LOGIN_ACCOUNT_RATE_LIMIT": str,
    "LOGIN_KNOWN_BROWSER_DAYS": int,
}


def environment_config(environ: os._Environ[str] | dict[str, str] = os.environ) -> dict[str, Any]:
    """GRADELAB_DATABASE_URL and the GRADELAB_<KEY> variables, typed."""
    found: dict[str, Any] = {}
    for key, convert in _FROM_ENVIRONMENT.items():
        value = environ.get(f"GRADELAB_{key}")
        if value is not None:
            found[key] = convert(value)
    if "GRADELAB_DATABASE_URL" in environ:
        found["SQLALCHEMY_DATABASE_URI"] = environ["GRADELAB_DATABASE_URL"]
    return found


def secret_key_file(instance_path: str) -> Path:
    return Path(instance_path) / "secret_key"


def read_secret_key(instance_path: str) -> str | None:
    path = secret_key_file(instance_path)
    return path.read_text().strip() if path.is_file() else None


class MissingSecretKey(RuntimeError):
    def __init__(self, instance_path: str) -> None:
        super().__init__(
            f"No secret key: set GRADELAB_SECRET_KEY, or run `gradelab serve`, which writes one to {secret_key_file(instance_path)}."
        )
