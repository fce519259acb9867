"""The instance folder and its private files (secret key, demo passwords, SQLite database): owner-only."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

FOLDER_MODE = 0o700
FILE_MODE = 0o600
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")  # SQLite gives them the database file's mode when it makes them


def make_private_folder(folder: Path) -> None:
    """The folder, made or narrowed to its owner (an older install may have made it 0755)."""
    folder.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
    folder.chmod(FOLDER_MODE)


def write_private_file(path: Path, text: str) -> None:
    """`text` in a file no one else can read, at no moment: created 0600, not chmod-ed after writing."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with os.fdopen(descriptor, "w") as file:
        os.fchmod(descriptor, FILE_MODE)  # a file that existed keeps its mode through os.open
        file.write(text)


def ensure_secret_key(key_file: Path) -> None:
    """A new random key, or the one there narrowed to its owner: the key signs every session."""
    if key_file.exists():
        key_file.chmod(FILE_MODE)
    else:
        write_private_file(key_file, secrets.token_hex(32))


def protect_sqlite_database(database: Path) -> None:
    """Before SQLite opens `database`: the file exists 0600, so its WAL and shared memory are 0600 too."""
    try:
        os.close(os.open(database, os.O_RDWR | os.O_CREAT, FILE_MODE))
    except OSError:  # no folder, or a folder in its place: SQLite's own error then says so (a 503 page)
        return
    for path in (database, *(database.with_name(database.name + suffix) for suffix in SQLITE_COMPANIONS)):
        if path.exists() and path.stat().st_mode & 0o077:
            path.chmod(FILE_MODE)
