"""The client side of the JSON API, for `gradelab submit`: send a file, wait for its grade.

Flask-free and torch-free, so the command starts at once on a student's laptop.
"""

from __future__ import annotations

import base64
import os
import time
import tomllib
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

CONFIG_FILE = Path(os.environ.get("XDG_CONFIG_HOME", Path.home() / ".config")) / "gradelab" / "config.toml"
POLL_S = (0.2, 0.5, 1.0, 2.0)  # quickly at first, as the site's own page does
SUBMISSION_KEYS = ("id", "status", "final", "url")  # what the polling reads; printing checks the rest


class ApiFailure(Exception):
    """The server refused or could not be reached; the message says which and why."""


@dataclass(frozen=True)
class Connection:
    server: str
    token: str


def connection(server: str | None, config_file: Path = CONFIG_FILE) -> Connection:
    """The server and token from the options, then GRADELAB_SERVER / GRADELAB_TOKEN, then the config file.

    The config file holds `server = "https://..."` and `token = "glb_..."`.
    """
    settings: dict[str, Any] = {}
    if config_file.is_file():
        try:
            settings = tomllib.loads(config_file.read_text())
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
            raise ApiFailure(f"{config_file}: {error}") from None
    server = server or os.environ.get("GRADELAB_SERVER") or settings.get("server")
    token = os.environ.get("GRADELAB_TOKEN") or settings.get("token")
    if not server:
        raise ApiFailure(f'No server: pass --server URL, set GRADELAB_SERVER, or write server = "..." in {config_file}.')
    if not token:
        where = f'set GRADELAB_TOKEN or write token = "..." in {config_file}'
        raise ApiFailure(f"No API token: create one on the site's API tokens page, then {where}.")
    return Connection(server.rstrip("/"), token)


def submit_and_wait(link: Connection, exercise: str, source: bytes, timeout_s: float) -> dict[str, Any]:
    """Send `source`, then poll until its grade is final; the submission as the API describes it."""
    with httpx.Client(base_url=link.server, headers={"Authorization": f"Bearer {link.token}"}, timeout=30) as http:
        body = {"source_base64": base64.b64encode(source).decode(), "client_token": uuid.uuid4().hex}
        submission = _submission(_call(http, "POST", f"/api/v1/exercises/{exercise}/submissions", json=body))
        deadline, polls = time.monotonic() + timeout_s, 0
        while not submission["final"]:
            if time.monotonic() > deadline:
                raise ApiFailure(f"Still {submission['status']} after {timeout_s:.0f} s; see {submission['url']}")
            time.sleep(POLL_S[min(polls, len(POLL_S) - 1)])
            polls += 1
            submission = _submission(_call(http, "GET", f"/api/v1/submissions/{submission['id']}"))
    return submission


def _call(http: httpx.Client, method: str, path: str, **options: Any) -> httpx.Response:
    try:
        return http.request(method, path, **options)
    except httpx.HTTPError as error:
        raise ApiFailure(f"Cannot reach {http.base_url}: {error}") from None


def _submission(response: httpx.Response) -> dict[str, Any]:
    """The submission a successful answer holds, or ApiFailure with the server's message."""
    try:
        data = response.json()
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise ApiFailure(f"{response.request.url}: HTTP {response.status_code}, not a JSON object (is this a Gradelab server?)")
    if response.status_code >= 400:
        raise ApiFailure(f"HTTP {response.status_code}: {data.get('error', data)}")
    missing = [key for key in SUBMISSION_KEYS if key not in data]
    if missing:
        raise ApiFailure(f"{response.request.url}: HTTP {response.status_code}, not a submission: no {', '.join(missing)}")
    return data
