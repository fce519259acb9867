"""tests/processes.py: what a test starts dies with all it started, whatever happens."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import processes
import psutil
import pytest

TESTS = Path(__file__).resolve().parent
# A parent that ignores SIGTERM, starts a child in a session of its own (as the sandboxes are
# started), prints both pids, and hangs.
DETACHING = textwrap.dedent(
    """\
    import os, signal, subprocess, sys, time
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], start_new_session=True)
    print(os.getpid(), child.pid, flush=True)
    time.sleep(600)
    """
)


def running(pids: list[int], created: list[float]) -> list[int]:
    alive = []
    for pid, started in zip(pids, created):
        try:
            member = psutil.Process(pid)
            if member.create_time() == started and processes.is_alive(member):
                alive.append(pid)
        except psutil.NoSuchProcess:
            pass
    return alive


def started_pids(process: subprocess.Popen) -> tuple[list[int], list[float]]:
    pids = [int(pid) for pid in process.stdout.readline().split()]
    return pids, [psutil.Process(pid).create_time() for pid in pids]


def test_stop_kills_a_leader_that_ignores_sigterm_and_its_child_in_another_session():
    process = processes.start([sys.executable, "-c", DETACHING], stdout=subprocess.PIPE, text=True)
    pids, created = started_pids(process)
    processes.stop(process, grace_s=0.5)
    assert running(pids, created) == []
    assert process.returncode == -9


def test_run_past_its_timeout_leaves_nothing_running(tmp_path):
    record = tmp_path / "pids"
    script = DETACHING.replace("print(os.getpid(), child.pid, flush=True)", f"open({str(record)!r}, 'w').write(f'{{os.getpid()}} {{child.pid}}')")
    with pytest.raises(subprocess.TimeoutExpired):
        processes.run([sys.executable, "-c", script], timeout_s=3)
    pids = [int(pid) for pid in record.read_text().split()]
    assert not [pid for pid in pids if psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE]


INNER_CONFTEST = f"""
import importlib.util, sys
sys.path.insert(0, {str(TESTS)!r})
spec = importlib.util.spec_from_file_location("suite_conftest", {str(TESTS / "conftest.py")!r})
suite = importlib.util.module_from_spec(spec)
spec.loader.exec_module(suite)
no_process_left_running = suite.no_process_left_running  # the suite's own safety net
"""

INNER_TEST = """
import subprocess, sys
import processes

def test_that_forgets_what_it_started():
    process = processes.start([sys.executable, "-c", {script!r}], stdout=open({record!r}, "w"))
    while not open({record!r}).read().strip():
        pass
"""


def test_the_session_kills_and_reports_what_a_test_forgot(tmp_path):
    record = tmp_path / "pids"
    inner = tmp_path / "inner"
    inner.mkdir()
    (inner / "conftest.py").write_text(INNER_CONFTEST)
    (inner / "test_inner.py").write_text(INNER_TEST.format(script=DETACHING, record=str(record)))
    run = processes.start([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(inner)], cwd=inner, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        output = run.communicate(timeout=120)[0]
        assert record.exists(), output
        pids = [int(pid) for pid in record.read_text().split()]
        assert "1 passed, 1 error" in output and "the tests left these running (killed now)" in output, output
        assert not [pid for pid in pids if psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE]
    finally:
        processes.kill(run)  # only after the check: this would kill what the inner run left in its group
