"""`gradelab serve`, the README's run command, as a new user meets it: a real server process."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from live_services import HttpClient, free_port
from site_helpers import client_token, csrf_token

ROOT = Path(__file__).resolve().parents[2]
SEED = (ROOT / "exercises/linear/solutions/seed.py").read_text()
ACCOUNT = re.compile(r"student\s+(\S+@\S+)\s+password: (\S+)")


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


@pytest.mark.slow
def test_serve_migrates_loads_exercises_prints_demo_accounts_and_grades(tmp_path):
    port = free_port()
    server, output = start_server(tmp_path / "instance", port)
    try:
        assert "Exercises: 10 loaded" in output
        email, password = ACCOUNT.search(output).groups()
        assert (tmp_path / "instance" / "gradelab.sqlite").is_file()
        assert oct((tmp_path / "instance" / "secret_key").stat().st_mode & 0o777) == "0o600"

        browser = HttpClient(f"http://127.0.0.1:{port}")
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
