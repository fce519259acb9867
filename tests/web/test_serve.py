"""`gradelab serve`, the README's run command, as a new user meets it: a real server process."""

from __future__ import annotations

import http.cookiejar
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from conftest import client_token, csrf_token

ROOT = Path(__file__).resolve().parents[2]
SEED = (ROOT / "exercises/linear/solutions/seed.py").read_text()
ACCOUNT = re.compile(r"student\s+(\S+@\S+)\s+password: (\S+)")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(instance: Path, port: int) -> tuple[subprocess.Popen, str]:
    """Start `gradelab serve`; its output up to the line that says it is up."""
    command = [str(Path(sys.executable).parent / "gradelab"), "serve", "--port", str(port), "--instance", str(instance)]
    environment = {key: value for key, value in os.environ.items() if not key.startswith("GRADELAB_")}
    server = subprocess.Popen(command, cwd=ROOT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = server.stdout.readline()
        if not line:
            break
        lines.append(line)
        if "Gradelab is up" in line:
            return server, "".join(lines)
    server.kill()
    pytest.fail("gradelab serve did not come up:\n" + "".join(lines))


def stop(server: subprocess.Popen) -> None:
    """Ctrl-C, as a user would: the server closes its grading pool and exits."""
    server.send_signal(signal.SIGINT)
    rest = server.communicate(timeout=30)[0]
    assert server.returncode == 0, rest


class Browser:
    """Just enough of a browser: cookies, forms, redirects."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def get(self, path: str) -> tuple[int, str, str]:
        with self.opener.open(self.base + path) as response:
            return response.status, response.geturl(), response.read().decode()

    def post(self, path: str, form: dict[str, str]) -> tuple[int, str, str]:
        data = urllib.parse.urlencode(form).encode()
        with self.opener.open(self.base + path, data=data) as response:
            return response.status, response.geturl(), response.read().decode()


@pytest.mark.slow
def test_serve_migrates_loads_exercises_prints_demo_accounts_and_grades(tmp_path):
    port = free_port()
    server, output = start_server(tmp_path / "instance", port)
    try:
        assert "Exercises: 3 loaded" in output
        email, password = ACCOUNT.search(output).groups()
        assert (tmp_path / "instance" / "gradelab.sqlite").is_file()
        assert oct((tmp_path / "instance" / "secret_key").stat().st_mode & 0o777) == "0o600"

        browser = Browser(f"http://127.0.0.1:{port}")
        _, _, page = browser.get("/login")
        status, url, page = browser.post("/login", {"csrf_token": csrf_token(page), "email": email, "password": password})
        assert url.endswith("/") and "Demo Student" in page
        _, _, page = browser.get("/exercises/linear")
        form = {"csrf_token": csrf_token(page), "client_token": client_token(page), "source": SEED}
        _, url, page = browser.post("/exercises/linear/submit", form)
        submission = url.rsplit("/", 1)[1]
        deadline = time.monotonic() + 60
        while 'data-status="graded"' not in page and time.monotonic() < deadline:
            time.sleep(0.2)
            _, _, page = browser.get(f"/submissions/{submission}/result")
        assert 'id="score">100 / 100' in page
    finally:
        stop(server)

    again, output = start_server(tmp_path / "instance", port)  # a restart keeps the data and the accounts
    try:
        assert "0 new or changed" in output and ACCOUNT.search(output).groups() == (email, password)
    finally:
        stop(again)
