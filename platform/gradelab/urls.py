"""Redirect targets taken from a form or a query string, kept on this site."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import url_for


def safe_next_url(target: str | None) -> str:
    """`target` if it is a path on this site; the exercise list otherwise (no open redirect)."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") and not target.startswith("//"):
            return target
    return url_for("student.index")
