"""Processes the tests and benchmarks start: each leads a session of its own and dies with all it started.

A server that hangs, ignores its signal or exits leaving children must not outlive the test that
started it. `stop` signals the process group, waits, then kills the group and every descendant:
the group alone would miss the sandboxes, which start sessions of their own. `stop_all` is the
safety net at the end of a test session for whatever a test could not stop.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import psutil

GRACE_S = 30.0  # a graceful stop: a server finishes the gradings under way and closes its pool
KILL_WAIT_S = 10.0  # SIGKILL is not refused; this only bounds the wait for the kernel to reap

_started: list[subprocess.Popen] = []


def start(command: Sequence[str], **options: Any) -> subprocess.Popen:
    """`subprocess.Popen` as the leader of a new session, remembered for `stop_all`."""
    process = subprocess.Popen(command, start_new_session=True, **options)
    _started.append(process)
    return process


def run(command: Sequence[str], timeout_s: float, **options: Any) -> subprocess.CompletedProcess:
    """`subprocess.run(..., capture_output=True, text=True)`, but nothing it started outlives it, timeout or not."""
    options.setdefault("text", True)
    process = start(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **options)
    try:
        stdout, stderr = process.communicate(timeout=timeout_s)
    finally:
        kill(process)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def family(process: subprocess.Popen) -> list[psutil.Process]:
    """The live process, its descendants in any session, and whatever else is left in its process group."""
    found: dict[int, psutil.Process] = {}
    if process.returncode is None:  # not reaped yet: its pid is still its own
        with contextlib.suppress(psutil.NoSuchProcess):
            leader = psutil.Process(process.pid)
            found = {member.pid: member for member in [leader, *leader.children(recursive=True)]}
    for candidate in psutil.process_iter():
        with contextlib.suppress(psutil.Error, OSError):  # it ended meanwhile
            if candidate.pid not in found and os.getpgid(candidate.pid) == process.pid:
                found.update({member.pid: member for member in [candidate, *candidate.children(recursive=True)]})
    return [member for member in found.values() if is_alive(member)]


def is_alive(member: psutil.Process) -> bool:
    """Running (a zombie has ended: only its exit status is left to collect)."""
    try:
        return member.is_running() and member.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def stop(process: subprocess.Popen, first_signal: int = signal.SIGTERM, grace_s: float = GRACE_S) -> None:
    """`first_signal` to the process group, up to `grace_s` for the leader to exit, then `kill`."""
    members = family(process)
    _signal_group(process, first_signal)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=grace_s)
    kill(process, members)


def call_each(stops: Iterable[Callable[[], object]]) -> None:
    """Call every one of `stops`, even when one of them fails; then raise the first failure."""
    failures = []
    for stop_one in stops:
        try:
            stop_one()
        except Exception as failure:  # noqa: BLE001 - the others must be stopped all the same
            failures.append(failure)
    if failures:
        raise failures[0]


def kill(process: subprocess.Popen, known: Iterable[psutil.Process] = ()) -> None:
    """SIGKILL to the group, to every process in `known` (seen before the leader could orphan them)
    and to every descendant still there; wait until none runs; close the pipes to the leader."""
    members = {member.pid: member for member in [*known, *family(process)]}
    _signal_group(process, signal.SIGKILL)
    for member in members.values():
        with contextlib.suppress(psutil.NoSuchProcess):
            member.kill()  # psutil checks the pid still names the same process
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=KILL_WAIT_S)
    for stream in (process.stdin, process.stdout, process.stderr):
        if stream is not None:
            stream.close()
    deadline = time.monotonic() + KILL_WAIT_S
    while (running := [m for m in members.values() if is_alive(m)]) and time.monotonic() < deadline:
        time.sleep(0.05)
    if running or process.returncode is None:
        raise RuntimeError(f"still running after SIGKILL: {describe(running)}")


def stop_all() -> list[str]:
    """Kill every process started here that is still running, with all it started; what was left."""
    left: list[str] = []
    for process in _started:
        members = family(process)
        if members:
            left.append(describe(members))
            kill(process, members)
    _started.clear()
    return left


def describe(members: Iterable[psutil.Process]) -> str:
    names = []
    for member in members:
        with contextlib.suppress(psutil.Error):
            names.append(f"{member.pid} {' '.join(member.cmdline())[:120]}")
    return "; ".join(names) or "nothing"


def _signal_group(process: subprocess.Popen, number: int) -> None:
    # Only while the leader is not reaped is its pid surely still its group's; later, `family`
    # finds what is left of the group, and `kill` signals each of them.
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, number)
