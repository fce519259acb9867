"""API tokens: made at random, shown once, kept only as a SHA-256 (a token is already high-entropy, so
a slow password hash would add nothing but latency to every API call)."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import ApiToken, User, utcnow

TOKEN_PREFIX = "glb_"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(session: Session, user: User, name: str) -> str:
    """A new token for `user`; the only time its text exists outside the caller."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(user=user, name=name, token_hash=_digest(token), prefix=token[:10]))
    session.commit()
    return token


def user_for_token(session: Session, token: str) -> User | None:
    found = session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(token), ApiToken.revoked_at.is_(None)))
    if found is None:
        return None
    found.last_used_at = utcnow()
    session.commit()
    return found.user


def revoke_token(session: Session, user: User, token_id: int) -> bool:
    found = session.get(ApiToken, token_id)
    if found is None or found.user_id != user.id or found.revoked_at is not None:
        return False
    found.revoked_at = utcnow()
    session.commit()
    return True


def tokens_of(session: Session, user: User) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())))
