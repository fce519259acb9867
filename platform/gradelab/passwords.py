"""Password hashing (werkzeug's scrypt), apart from Flask so the CLI and scripts can create users."""

from __future__ import annotations

from werkzeug.security import check_password_hash, generate_password_hash

from .models import User


def hash_password(password: str) -> str:
    return generate_password_hash(password)  # scrypt, werkzeug's default


def is_password_of(user: User, password: str) -> bool:
    return check_password_hash(user.password_hash, password)
