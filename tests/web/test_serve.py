"""`gradelab serve`, the README's run command, as a new user meets it: a real server process."""

from __future__ import annotations

import functools
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import processes
import psutil
import pytest
from live_services import HttpClient, free_port
from site_helpers import client_token, csrf_token

ROOT = Path(__file__).resolve().parents[2]
SEED = (ROOT / "exercises/linear/solutions/seed.py").read_text()
ACCOUNT = re.compile(r"student\s+(\S+@\S+)\s+password: (\S+)")
FALLBACK_GRACE_S = 5.0  # a server the test did not stop itself: the test failed, its data matters no more


def start_server(instance: Path, port: int) -> tuple[subprocess.Popen, str]:
    """Start `gradelab serve` in a session of its own; its output up to the line that says it is up."""
    command = [str(Path(sys.executable).parent / "gradelab"), "serve", "--port", str(port), "--instance", str(instance)]
    environment = {key: value for key, value in os.environ.items() if not key.startswith("GRADELAB_")}
    server = processes.start(command, cwd=ROOT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            line = server.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "Gradelab is up" in line:
                return server, "".join(lines)
    except BaseException:
        processes.kill(server)
        raise
    processes.kill(server)
    pytest.fail("gradelab serve did not come up:\n" + "".join(lines))


def stop(server: subprocess.Popen, timeout_s: float = 30) -> None:
    """Ctrl-C, as a user would: the server closes its grading pool and exits. Whether it does or
    not, nothing of it is left running: its sandboxes, in sessions of their own, included."""
    members = processes.family(server)  # before the server can exit and orphan them
    try:
        server.send_signal(signal.SIGINT)
        rest = server.communicate(timeout=timeout_s)[0]
        assert server.returncode == 0, rest
    finally:
        processes.kill(server, members)


@pytest.fixture
def serve() -> Iterator[Callable[[Path, int], tuple[subprocess.Popen, str]]]:
    """`start_server`, and a finalizer that stops each server it started, whatever the test did."""
    started: list[subprocess.Popen] = []

    def start(instance: Path, port: int) -> tuple[subprocess.Popen, str]:
        server, output = start_server(instance, port)
        started.append(server)
        return server, output

    yield start
    processes.call_each(functools.partial(processes.stop, server, signal.SIGINT, FALLBACK_GRACE_S) for server in started)


@pytest.mark.slow
def test_serve_migrates_loads_exercises_prints_demo_accounts_and_grades(tmp_path, serve):
    port = free_port()
    server, output = serve(tmp_path / "instance", port)
    try:
        assert "Exercises: 12 loaded" in output
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

    again, output = serve(tmp_path / "instance", port)  # a restart keeps the data and the accounts
    try:
        assert "0 new or changed" in output and ACCOUNT.search(output).groups() == (email, password)
    finally:
        stop(again)


def commands(members: list[psutil.Process]) -> list[str]:
    return [" ".join(member.cmdline()) for member in members]


def is_running(pid: int, created: float) -> bool:
    """That very process (not a later one given its pid) runs still."""
    try:
        member = psutil.Process(pid)
        return member.create_time() == created and processes.is_alive(member)
    except psutil.NoSuchProcess:
        return False


@pytest.mark.slow
def test_a_server_that_will_not_stop_is_killed_with_its_sandboxes(tmp_path, serve):
    server, _ = serve(tmp_path / "instance", free_port())
    members = processes.family(server)
    started = commands(members)
    assert any("gradelab serve" in command for command in started), started
    assert any(command.startswith("bwrap") or "/bwrap " in command for command in started), started
    assert any("forkserver.py" in command for command in started), started
    os.kill(server.pid, signal.SIGSTOP)  # hung: Ctrl-C stays pending

    with pytest.raises(subprocess.TimeoutExpired):
        stop(server, timeout_s=2)

    assert not [member.pid for member in members if is_running(member.pid, member.create_time())]


INNER_CONFTEST = """
import sys
sys.path[:0] = [{tests!r}, {web!r}]
from test_serve import serve  # noqa: F401
"""

INNER_TEST = """
import json, os, signal
import processes
from live_services import free_port

def test_that_fails_with_a_hung_server(tmp_path, serve):
    server, _ = serve(tmp_path / "instance", free_port())
    with open({record!r}, "w") as record:
        for member in processes.family(server):
            record.write(json.dumps([member.pid, member.create_time(), " ".join(member.cmdline())]) + "\\n")
    os.kill(server.pid, signal.SIGSTOP)
    assert False, "this test fails with its server hung"
"""


@pytest.mark.slow
def test_a_failing_test_leaves_nothing_of_its_hung_server_running(tmp_path):
    tests = ROOT / "tests"
    record = tmp_path / "family.txt"
    inner = tmp_path / "inner"
    inner.mkdir()
    (inner / "conftest.py").write_text(INNER_CONFTEST.format(tests=str(tests), web=str(tests / "web")))
    (inner / "test_inner.py").write_text(INNER_TEST.format(record=str(record)))
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(inner)]
    run = processes.start(command, cwd=inner, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        output = run.communicate(timeout=300)[0]
        assert "1 failed" in output and "this test fails with its server hung" in output, output
        family = [json.loads(line) for line in record.read_text().splitlines()]  # a command line may hold newlines
        assert any("forkserver.py" in command for _, _, command in family), family
        assert not [command for pid, created, command in family if is_running(pid, created)]
    finally:
        processes.kill(run)  # only after the check: this would kill what the inner run left in its group
