"""Email addresses: the syntax a new account must have, and the one key every look-alike spelling shares."""

from __future__ import annotations

import unicodedata

from email_validator import EmailNotValidError, validate_email


def email_key(email: str) -> str:
    """What makes two addresses the same account: `İvan@X`, `ivan@x` and `iv\u200ban@x` share one key.

    Format characters (zero-width spaces and joiners, direction marks) are dropped, compatibility
    forms folded (NFKC: full-width letters, ligatures), accents and combining dots removed, case
    folded. Stricter than mail servers, on purpose: two people at one school whose addresses differ
    only by an accent are rarer than a student posing as another.
    """
    visible = "".join(c for c in unicodedata.normalize("NFKD", email) if unicodedata.category(c) not in ("Cf", "Mn"))
    return unicodedata.normalize("NFKC", visible.casefold()).strip()


def normalized_email(email: str) -> str:
    """A new account's address as stored and shown: checked for syntax, domain in lowercase.

    Raises ValueError with a message for the student when the address is not one.
    """
    try:
        found = validate_email(email.strip(), check_deliverability=False)
    except EmailNotValidError as error:
        raise ValueError(str(error)) from error
    return found.normalized.lower()
