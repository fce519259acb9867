"""Demo accounts for the embedded default, so a fresh site can be tried at once."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from .instance import write_private_file
from .models import Role, User
from .passwords import hash_password

DEMO_USERS = (
    ("student@demo.gradelab", "Demo Student", Role.STUDENT),
    ("instructor@demo.gradelab", "Demo Instructor", Role.INSTRUCTOR),
)


def ensure_demo_accounts(session: Session, instance_path: str) -> list[tuple[str, str, Role]]:
    """Create the demo users once, each with a random password kept in the instance folder."""
    passwords_file = Path(instance_path) / "demo_accounts.json"
    passwords: dict[str, str] = json.loads(passwords_file.read_text()) if passwords_file.is_file() else {}
    accounts = []
    for email, name, role in DEMO_USERS:
        user = session.scalar(select(User).where(User.email == email))
        if user is None or email not in passwords:
            passwords[email] = secrets.token_urlsafe(9)
            if user is None:
                user = User(email=email, name=name, role=role)
                session.add(user)
            user.password_hash = hash_password(passwords[email])
        accounts.append((email, passwords[email], role))
    session.commit()
    write_private_file(passwords_file, json.dumps(passwords, indent=2))
    return accounts
