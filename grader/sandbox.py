"""Runs the harness on one job in a separate process and brings back its raw trace.

The contract with untrusted code, as far as this module enforces it today:

- The submission runs in a child Python process (`python -I harness.py`), never in the grader.
- Its inputs are the job on stdin (source, contract, case inputs); expected values never go in.
- Its environment is rebuilt from nothing: no secret of the parent's environment reaches it.
- It starts in an empty temporary working directory that is deleted afterwards.
- It gets `timeout_s` of wall time; then its whole process group is killed (outcome `timeout`).
- Its stdout and stderr are captured together, up to `max_output_bytes`; past that it is killed
  (outcome `output_limit`) and the output is kept truncated.
- Its result comes back over a separate pipe as a frame tagged with a per-run nonce, so printing
  a fake result on stdout changes nothing; no frame means the process died (`crashed`).
- What comes back is raw numbers, never a verdict: the comparison happens in the parent.

Namespaces, read-only filesystem views, resource limits and warm workers are the hardened sandbox
(issue 3); they slot in behind `run_harness` without changing what it returns.
"""

from __future__ import annotations

import json
import os
import secrets
import selectors
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HARNESS_PATH = Path(__file__).resolve().parent / "harness.py"
MAX_TRACE_BYTES = 64 * 1024 * 1024
PASSED_ENVIRONMENT = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "LANG", "LC_ALL")


@dataclass(frozen=True)
class RawRun:
    """What came back from one child: how it ended, its trace if any, and its output."""

    status: str  # "finished", "timeout", "output_limit", "died"
    trace: dict[str, Any] | None
    stdout: str
    stdout_truncated: bool
    exit_code: int | None
    duration_ms: float


def child_environment(home: str) -> dict[str, str]:
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": home, "TMPDIR": home, "OMP_NUM_THREADS": "1", "PYTHONHASHSEED": "0"}
    env.update({key: os.environ[key] for key in PASSED_ENVIRONMENT if key in os.environ})
    return env


class HarnessProcess:
    """One child harness, started before its job exists.

    The child imports torch first and only then reads its job from stdin, so a caller that
    spawns it early (the CLI does, before importing torch itself) overlaps the two imports of
    about 1.3 s each. A process runs one job; `close` is safe to call more than once.
    """

    def __init__(self) -> None:
        self._workdir = tempfile.TemporaryDirectory(prefix="gradelab-")
        self._read_fd, write_fd = os.pipe()
        try:
            self._child = subprocess.Popen(
                [sys.executable, "-I", str(HARNESS_PATH), str(write_fd)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                pass_fds=(write_fd,),
                cwd=self._workdir.name,
                env=child_environment(self._workdir.name),
                start_new_session=True,
            )
        except BaseException:
            os.close(self._read_fd)
            self._workdir.cleanup()
            raise
        finally:
            os.close(write_fd)
        self._closed = False

    def run(self, job: dict[str, Any], timeout_s: float, max_output_bytes: int) -> RawRun:
        """Run the job to completion, timeout or death; never raises for anything the child does."""
        nonce = secrets.token_hex(16)
        payload = json.dumps({**job, "nonce": nonce}).encode()
        started = time.perf_counter()
        try:
            status, output, truncated, frames = _collect(self._child, payload, self._read_fd, started + timeout_s, max_output_bytes)
        finally:
            self.close()
        return RawRun(
            status=status,
            trace=parse_frame(frames, nonce) if status == "finished" else None,
            stdout=output.decode("utf-8", errors="replace"),
            stdout_truncated=truncated,
            exit_code=self._child.returncode,
            duration_ms=(time.perf_counter() - started) * 1000,
        )

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        _kill_group(self._child)
        os.close(self._read_fd)
        self._workdir.cleanup()


def run_harness(job: dict[str, Any], timeout_s: float, max_output_bytes: int) -> RawRun:
    """Spawn a harness and run one job on it."""
    return HarnessProcess().run(job, timeout_s, max_output_bytes)


def _collect(child: subprocess.Popen[bytes], payload: bytes, read_fd: int, deadline: float, max_output_bytes: int) -> tuple[str, bytes, bool, bytes]:
    """Feed the job and drain stdout and the result pipe together until both close."""
    assert child.stdin is not None and child.stdout is not None
    os.set_blocking(child.stdin.fileno(), False)
    os.set_blocking(read_fd, False)
    selector = selectors.DefaultSelector()
    selector.register(child.stdin, selectors.EVENT_WRITE, "stdin")
    selector.register(child.stdout, selectors.EVENT_READ, "stdout")
    selector.register(read_fd, selectors.EVENT_READ, "result")
    output, frames = bytearray(), bytearray()
    pending = memoryview(payload)
    status = "finished"
    while selector.get_map():
        remaining = deadline - time.perf_counter()
        if remaining <= 0:
            status = "timeout"
            break
        for key, _ in selector.select(timeout=min(remaining, 0.5)):
            if key.data == "stdin":
                try:
                    pending = pending[os.write(key.fd, pending) :]
                except BrokenPipeError:
                    pending = pending[len(pending) :]
                if not pending:
                    selector.unregister(key.fileobj)
                    child.stdin.close()
                continue
            chunk = os.read(key.fd, 65536)
            if not chunk:
                selector.unregister(key.fileobj)
                continue
            target = output if key.data == "stdout" else frames
            target += chunk
        if len(output) > max_output_bytes:
            status = "output_limit"
            break
        if len(frames) > MAX_TRACE_BYTES:
            status = "died"
            break
    selector.close()
    if status == "finished":
        try:
            child.wait(timeout=max(deadline - time.perf_counter(), 0.1))
        except subprocess.TimeoutExpired:
            status = "timeout"
    truncated = len(output) > max_output_bytes
    return status, bytes(output[:max_output_bytes]), truncated, bytes(frames)


def _kill_group(child: subprocess.Popen[bytes]) -> None:
    """Whatever the child left behind in its session goes with it."""
    try:
        os.killpg(child.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    child.wait()
    for stream in (child.stdin, child.stdout):
        if stream is not None and not stream.closed:
            stream.close()


def parse_frame(frames: bytes, nonce: str) -> dict[str, Any] | None:
    """The last well-formed frame carrying this run's nonce; junk around it is ignored."""
    marker = f"\n{nonce} ".encode()
    position = frames.rfind(marker)
    while position != -1:
        header_end = frames.find(b"\n", position + len(marker))
        try:
            length = int(frames[position + len(marker) : header_end])
            body = frames[header_end + 1 : header_end + 1 + length]
            if len(body) == length:
                trace = json.loads(body)
                if isinstance(trace, dict):
                    return trace
        except ValueError:
            pass
        position = frames.rfind(marker, 0, position)
    return None
