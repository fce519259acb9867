"""Runs student code in a sandboxed, warm sandbox and brings back its raw trace.

A `Sandbox` is one fork server (`grader.forkserver`) in a bubblewrap sandbox: its own PID,
network, IPC and UTS namespaces, a root filesystem that holds only the Python runtime, the
installed packages (read-only) and the sandbox side of the grader (`sandbox_files`), a private `/tmp`, and no
environment but what is set here. It runs as the unprivileged uid 65534 when the grader runs as
root, and as the grader's own uid in a user namespace otherwise; it dies with the grader. Each
sandbox runs in a cgroup of its own (`grader.cgroup`: tasks, memory counting kernel memory, one
CPU), or, where none can be made, under `RLIMIT_NPROC` with a uid of its own as root. The
exercises, reference solutions, hidden cases, database, instance folder and other submissions
are simply not in its view.

The sandbox imports torch once and forks a fresh, confined child per submission (`grader.confine`:
rlimits and seccomp). Talking to it, this module enforces what must not depend on the
sandbox's cooperation: jobs go in on a pipe, output is capped (the child is killed past the
cap), results come back on their own pipe as frames tagged with a per-job nonce and read in one
pass (`grader.frames`), and a backstop deadline kills the whole sandbox if the fork server itself
stops answering. What comes back is raw numbers, never a verdict: the comparison happens in the
trusted process.

A sandbox is trusted with one run at a time, and only as long as every run ends cleanly. Each
reply must name the run it answers; a run whose exchange fails in any way closes the sandbox. A
child that the sandbox could not confine (it says so on a pipe of its own before any student
code runs), a fork server that finds its own limits or scheduling changed, or a reply for
another run is a `SandboxFault`: the sandbox is closed and the submission is not judged on it.

`unsafe=True` runs the same fork server without bubblewrap, for a user grading their own code
where no sandbox can start (`gradelab grade --unsafe-no-sandbox`).
"""

from __future__ import annotations

import functools
import itertools
import json
import os
import platform
import secrets
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

import msgspec

from grader import registry
from grader.cgroup import SANDBOX_MAX_TASKS, SandboxCgroup
from grader.frames import (  # noqa: F401  (parse_frame: the reader over a whole stream)
    Body,
    FrameReader,
    parse_frame,
)
from grader.spec import Limits
from grader.trace import Job

GRADER_DIR = Path(__file__).resolve().parent
# The sandbox side of the grader package: the fork server, its confinement, the harness with what
# it records and the trace types, and each kind's loop. Mounted at their own paths, so that the
# package imports inside as outside, however it is installed (an editable install's import hook
# points at the source folder); nothing else of that folder is in the sandbox's view.
CORE_SANDBOX_FILES = ("__init__.py", "forkserver.py", "confine.py", "harness.py", "record.py", "trace.py")
SANDBOX_UID = 65534  # nobody
# As root without cgroups, RLIMIT_NPROC is what bounds a sandbox's tasks, and it counts per uid:
# each sandbox then runs as a uid of its own, from this block (unique among the live sandboxes of
# all graders on the machine while no grader holds 256 at once).
FALLBACK_UID_BASE = 1 << 30
SCRATCH_BYTES = 64 * 1024 * 1024
SCRATCH_INODES = 4096  # files and folders in the private /tmp: ~1.3 KB of kernel memory each
MAX_TASKS_ENV = "GRADELAB_SANDBOX_MAX_TASKS"  # read by confine.apply_limits: RLIMIT_NPROC for the child
MAX_TRACE_BYTES = 64 * 1024 * 1024
READY_TIMEOUT_S = 120.0
BACKSTOP_S = 5.0  # past the child's own wall limit, the fork server itself is presumed stuck
PASSED_ENVIRONMENT = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
LIBRARY_FOLDERS = ("/usr/lib", "/usr/lib32", "/usr/lib64", "/usr/libx32", "/lib", "/lib32", "/lib64", "/libx32")


TraceReady = Callable[[int, Body], None]  # (job index, its final trace, undecoded)


class SandboxError(RuntimeError):
    """The sandbox cannot be used: a fault of this machine or of the grader, never of a student."""


class SandboxFault(SandboxError):
    """This sandbox failed a run for reasons of its own: it is closed, and the run says nothing
    about the submission (run it again on a fresh sandbox)."""


@dataclass(frozen=True)
class RawRun:
    """What came back from one child: how it ended, a trace per job (None where missing), and
    the output of the first job (the output of the others is never read)."""

    status: str  # "finished", "timeout", "cpu_time", "output_limit", "died", "sandbox_lost"
    traces: tuple[Body | None, ...]
    stdout: str
    stdout_truncated: bool
    exit_code: int | None
    duration_ms: float
    cpu_s: float | None = None


class Runner(Protocol):
    """Runs a submission's jobs in the sandbox: a `sandbox.Sandbox` or a `pool.SandboxPool`."""

    def run(self, jobs: Sequence[Job[Any]], limits: Limits, on_trace: TraceReady | None = None) -> RawRun: ...


@dataclass(frozen=True)
class SandboxBounds:
    """What bounds one sandbox's kernel-side use, as set up on this machine (None: not bounded).

    `tasks_by` is "cgroup v2", "cgroup v1" (pids.max over the fork server and its child
    together), "RLIMIT_NPROC" (per child; per uid, hence a uid per sandbox as root) or None
    (unsafe mode without cgroups). `scratch_inodes` is the private /tmp's inode limit.
    """

    tasks_by: str | None
    max_tasks: int | None
    memory_mb: int | None
    cpus: float | None
    scratch_inodes: int | None
    uid: int


@dataclass(frozen=True)
class _Channels:
    """The three pipes of one child, as seen from the grader."""

    job: int
    output: int
    result: int


@functools.cache
def sandbox_problem() -> str | None:
    """Why a bubblewrap sandbox cannot start on this machine, or None when it can."""
    if sys.platform != "linux":
        return f"the sandbox needs Linux namespaces, and this is {platform.system()}"
    if shutil.which("bwrap") is None:
        return "bubblewrap is not installed (Debian/Ubuntu: `apt-get install bubblewrap`)"
    trial = subprocess.run([*bwrap_arguments(), _interpreter(), "-I", "-S", "-c", "pass"], capture_output=True, text=True, umask=0o022)
    if trial.returncode != 0:
        return f"bubblewrap cannot create its namespaces here: {trial.stderr.strip() or trial.returncode}"
    return None


def bwrap_arguments() -> list[str]:
    """The bubblewrap command line up to the program to run."""
    arguments = [shutil.which("bwrap") or "bwrap", "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try"]
    arguments += ["--die-with-parent", "--new-session", "--clearenv"]
    if os.geteuid() != 0:
        arguments += ["--unshare-user", "--disable-userns"]
    arguments += ["--proc", "/proc", "--dev", "/dev"]
    for name in LIBRARY_FOLDERS:  # the shared libraries, and nothing else of /usr but...
        if os.path.islink(name):
            arguments += ["--symlink", os.readlink(name), name]
        elif os.path.isdir(name):
            arguments += _directories_to(name) + ["--ro-bind", name, name]
    for program in _programs():  # ...the few programs the sandbox's own start-up runs
        arguments += _directories_to(program) + ["--ro-bind", os.path.realpath(program), program]
    arguments += ["--size", str(SCRATCH_BYTES), "--perms", "1777", "--tmpfs", "/tmp"]
    arguments += ["--perms", "0755", "--dir", "/etc", "--ro-bind", "/etc/ld.so.cache", "/etc/ld.so.cache"]
    for root in python_roots():
        arguments += _directories_to(root) + ["--ro-bind", root, root]
    # The grader's folder is a tmpfs of its own holding only the sandbox side, made read-only once
    # filled: wherever the package lives (under a private /tmp, inside site-packages), nothing
    # else of it is in view and nothing can be written there.
    arguments += _directories_to(str(GRADER_DIR)) + ["--perms", "0755", "--tmpfs", str(GRADER_DIR)]
    for name in sandbox_files():
        path = str(GRADER_DIR / name)
        arguments += _directories_to(path) + ["--ro-bind", path, path]
    arguments += ["--remount-ro", str(GRADER_DIR)]
    for key, value in _environment("/tmp").items():
        arguments += ["--setenv", key, value]
    # bubblewrap's own root and /dev are writable tmpfs mounts, owned by the sandbox's user in a
    # user namespace: read-only, so that only /tmp (emptied after every child) takes a write.
    arguments += ["--remount-ro", "/", "--remount-ro", "/dev"]
    return arguments + ["--chdir", "/tmp"]


def _programs() -> list[str]:
    """ldconfig, which ctypes runs to find libseccomp; setpriv, when it must drop root."""
    programs = ["/sbin/ldconfig"]
    if os.geteuid() == 0:
        programs.append(shutil.which("setpriv") or "/usr/bin/setpriv")
    executable = os.path.realpath(sys.executable)
    if not any(executable.startswith(root + "/") for root in python_roots()):
        programs.append(executable)  # an interpreter from the system's own /usr/bin
    return programs


def _interpreter() -> str:
    """This interpreter by a path the sandbox has: its folder resolved (the runtime is mounted at
    its real path, so a virtual environment reached through a symlink is not there under that
    name), its own name kept, so that Python still finds the environment's pyvenv.cfg beside it."""
    return os.path.join(os.path.realpath(os.path.dirname(sys.executable)), os.path.basename(sys.executable))


def python_roots() -> list[str]:
    """The interpreter's installation and the virtual environment, if any, outside /usr."""
    roots = {os.path.realpath(sys.base_prefix), os.path.realpath(sys.prefix)}
    return sorted(root for root in roots if not root.startswith("/usr/") and root != "/usr")


def _directories_to(path: str) -> list[str]:
    """bubblewrap makes missing parents 0700; the unprivileged uid must be able to walk them."""
    parents = [str(parent) for parent in reversed(Path(path).parents) if str(parent) != "/"]
    return [argument for parent in parents for argument in ("--perms", "0755", "--dir", parent)]


def _environment(home: str) -> dict[str, str]:
    environment = {"PATH": "/usr/bin:/bin", "HOME": home, "TMPDIR": home, "LANG": "C.UTF-8", "OMP_NUM_THREADS": "1", "PYTHONHASHSEED": "0"}
    environment.update({key: os.environ[key] for key in PASSED_ENVIRONMENT if key in os.environ})
    return environment


def _drop_to_sandbox_uid_command(sandbox_uid: int = SANDBOX_UID) -> list[str]:
    """As root, bubblewrap keeps no user namespace: setpriv drops to nobody (or the sandbox's own
    fallback uid) inside it."""
    if os.geteuid() != 0:
        return []
    uid = str(sandbox_uid)
    return ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs"]


# Run as root inside the sandbox, just before setpriv: bubblewrap's tmpfs takes a size but no
# inode count, and empty files cost no size. A remount keeps the mounts below /tmp (a runtime
# that lives under /tmp) and bubblewrap's nosuid,nodev.
_BOUND_SCRATCH_INODES = """\
import ctypes, os, sys
MS_NOSUID, MS_NODEV, MS_REMOUNT = 2, 4, 32
libc = ctypes.CDLL(None, use_errno=True)
if libc.mount(b"tmpfs", b"/tmp", b"tmpfs", MS_REMOUNT | MS_NOSUID | MS_NODEV, b"nr_inodes=%d") != 0:
    sys.exit("gradelab: cannot bound the inodes of /tmp: " + os.strerror(ctypes.get_errno()))
os.execvp(sys.argv[1], sys.argv[1:])
"""


def _bound_scratch_inodes_command() -> list[str]:
    """As root, a step that limits the private /tmp to SCRATCH_INODES inodes. In a user
    namespace bubblewrap keeps no capability to remount it: there the memory cgroup, if any,
    is the bound."""
    if os.geteuid() != 0:
        return []
    return [_interpreter(), "-I", "-S", "-c", _BOUND_SCRATCH_INODES % SCRATCH_INODES]


_fallback_uids = itertools.count()


def _fallback_uid() -> int:
    """A uid for one sandbox of this grader alone (see FALLBACK_UID_BASE)."""
    return FALLBACK_UID_BASE + ((os.getpid() & 0x3FFFFF) << 8) + next(_fallback_uids) % 256


class Sandbox:
    """One warm fork server. Start it early: importing torch takes a second or two.

    `run` runs one child at a time and may be called again and again; after a run that killed
    the sandbox, `alive` is False and the owner should start a new one. `close` is idempotent.
    """

    def __init__(self, unsafe: bool = False, warm_up: bool = True) -> None:
        """`warm_up=False` skips loading what torch loads lazily (optimizers pull in
        torch._dynamo, about a second): right for one grade, wrong for a long-lived sandbox."""
        if not unsafe and (problem := sandbox_problem()) is not None:
            raise SandboxError(f"cannot start the sandbox: {problem}")
        self.unsafe = unsafe
        self.warm_up = warm_up
        self._control, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._scratch = tempfile.TemporaryDirectory(prefix="gradelab-") if unsafe else None
        self._log = tempfile.TemporaryFile()
        self._cgroup: SandboxCgroup | None = None
        try:
            self._cgroup = SandboxCgroup.create()
            self.bounds = _bounds(self._cgroup, unsafe)
            self._process = subprocess.Popen(
                self._command(theirs.fileno()),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=self._log,
                pass_fds=(theirs.fileno(),),
                cwd=self._scratch.name if self._scratch else None,
                env=_environment(self._scratch.name) if self._scratch else {},
                start_new_session=True,
                umask=0o022,
            )
        except BaseException:
            self._release()
            raise
        finally:
            theirs.close()
        self._closed = False
        self._turn = threading.Lock()
        self._info: dict[str, Any] | None = None
        self.alive = True

    def _command(self, control_fd: int) -> list[str]:
        """The sandbox's command line, inside its cgroup from its first instruction on."""
        options = [] if self.warm_up else ["--no-warm-up"]
        entry = self._cgroup.entry_command() if self._cgroup is not None else []
        if self._scratch is not None:
            return [*entry, sys.executable, "-I", str(GRADER_DIR / "forkserver.py"), str(control_fd), self._scratch.name, *options]
        python = [_interpreter(), "-I", str(GRADER_DIR / "forkserver.py"), str(control_fd), "/tmp", *options]
        nproc = ["--setenv", MAX_TASKS_ENV, str(self.bounds.max_tasks)] if self.bounds.tasks_by == "RLIMIT_NPROC" else []
        return [*entry, *bwrap_arguments(), *nproc, *_bound_scratch_inodes_command(), *_drop_to_sandbox_uid_command(self.bounds.uid), *python]

    @property
    def pid(self) -> int:
        return self._process.pid

    def processes(self) -> set[int]:
        """Every live process of this sandbox: bubblewrap, the fork server and any child."""
        children: dict[int, list[int]] = {}
        for pid, parent in _parent_pids():
            children.setdefault(parent, []).append(pid)
        found, todo = {self.pid}, [self.pid]
        while todo:
            for child in children.get(todo.pop(), []):
                found.add(child)
                todo.append(child)
        return found

    def wait_ready(self, timeout_s: float = READY_TIMEOUT_S) -> dict[str, Any]:
        """Block until the fork server has imported torch; what it reported about itself."""
        if self._info is None:
            self._control.settimeout(timeout_s)
            try:
                message = self._control.recv(65536)
            except (TimeoutError, OSError):
                message = b""
            finally:
                self._control.settimeout(None)
            if not message:
                self.close()
                raise SandboxError(f"the sandbox did not start: {self.log_tail() or 'no output'}")
            info = json.loads(message)
            if not (info.get("seccomp") or self.unsafe):
                self.close()
                raise SandboxError("the sandbox cannot load libseccomp (Debian: `apt-get install libseccomp2`)")
            self._info = info
        return self._info

    def run(self, jobs: Sequence[Job[Any]], limits: Limits, on_trace: TraceReady | None = None) -> RawRun:
        """Run the jobs in one child, in turn; never raises for what the child does.

        Only the first job's output is read. The next jobs (hidden cases) are sent once the
        first trace is in and the output pipe is closed, so nothing they hold can be printed
        where anyone reads it; `on_trace` gets that trace then, so the caller can judge it while
        the rest runs. Callers in several threads take turns: one child at a time.

        Raises `SandboxFault` (the sandbox is then closed) when the sandbox, not the child, failed
        the run, and `SandboxError` when the sandbox is gone.
        """
        with self._turn:
            return self._run(jobs, limits, on_trace)

    def _run(self, jobs: Sequence[Job[Any]], limits: Limits, on_trace: TraceReady | None) -> RawRun:
        self.wait_ready()
        if not self.alive:
            raise SandboxError("this sandbox is gone; start a new one")
        nonces = [secrets.token_hex(16) for _ in jobs]
        messages = [_job_message(msgspec.structs.replace(job, nonce=nonce)) for job, nonce in zip(jobs, nonces)]
        run_id = secrets.token_hex(8)
        started = time.perf_counter()
        channels, theirs = _open_channels()
        header = {"run": run_id, "limits": self._child_limits(limits)}
        try:
            socket.send_fds(self._control, [json.dumps(header).encode()], theirs)
        except OSError:
            self.alive = False
            raise SandboxError(f"the sandbox stopped answering: {self.log_tail() or 'no output'}") from None
        finally:
            for fd in theirs:
                os.close(fd)
        exchange = _Exchange(self._control, channels, messages, nonces, limits.max_output_bytes, on_trace)
        try:
            exchange.run(deadline=started + limits.timeout_s + BACKSTOP_S)
            fault = _sandbox_fault(exchange.reply, run_id)
        except BaseException:
            self.close()  # a reply left unread, a child left running: nothing more can be trusted from this sandbox
            raise
        if fault is not None:
            log = self.log_tail()
            self.close()
            raise SandboxFault(f"{fault}{'; sandbox log: ' + log if log else ''}")
        if exchange.reply is None:
            self.close()  # stuck or killed: nothing more can be trusted from this sandbox
        status = _status(exchange, limits)
        return RawRun(
            status=status,
            traces=tuple(exchange.reader.trace(nonce) if status == "finished" else None for nonce in nonces),
            stdout=bytes(exchange.output[: limits.max_output_bytes]).decode("utf-8", errors="replace"),
            stdout_truncated=len(exchange.output) > limits.max_output_bytes,
            exit_code=exchange.reply["exit_code"] if exchange.reply else None,
            duration_ms=(time.perf_counter() - started) * 1000,
            cpu_s=exchange.reply["cpu_s"] if exchange.reply else None,
        )

    def _child_limits(self, limits: Limits) -> dict[str, Any]:
        chosen = asdict(limits)
        chosen["wall_s"] = limits.timeout_s
        chosen["seccomp"] = bool(self._info and self._info["seccomp"])  # required unless unsafe
        return chosen

    def log_tail(self, size: int = 2000) -> str:
        """The end of what the sandbox wrote on stderr (its own faults, never student output)."""
        try:
            self._log.seek(0)
            return self._log.read().decode("utf-8", errors="replace")[-size:].strip()
        except (OSError, ValueError):
            return ""

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.alive = False
        try:
            os.killpg(self._process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self._process.wait()
        self._release()

    def _release(self) -> None:
        self._control.close()
        self._log.close()
        if self._cgroup is not None:
            self._cgroup.remove()  # and with it anything of the sandbox that outlived the kill
        if self._scratch is not None:
            self._scratch.cleanup()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def _bounds(cgroup: SandboxCgroup | None, unsafe: bool) -> SandboxBounds:
    """What will bound a sandbox: its cgroup where there is one, else RLIMIT_NPROC in the
    sandbox (as root, with a uid of the sandbox's own); tmpfs inodes as root in the sandbox.
    Unsafe mode runs as the user, whose task count spans the whole machine: no RLIMIT_NPROC."""
    sandboxed_root = os.geteuid() == 0 and not unsafe
    inodes = SCRATCH_INODES if sandboxed_root else None
    if cgroup is not None:
        version = "v2" if cgroup.versions["pids"] == 2 else "v1"
        return SandboxBounds(f"cgroup {version}", cgroup.max_tasks, cgroup.memory_mb, cgroup.cpus, inodes, SANDBOX_UID if sandboxed_root else os.geteuid())
    if unsafe:
        return SandboxBounds(None, None, None, None, None, os.geteuid())
    return SandboxBounds("RLIMIT_NPROC", SANDBOX_MAX_TASKS, None, None, inodes, _fallback_uid() if sandboxed_root else os.geteuid())


def _parent_pids() -> Iterator[tuple[int, int]]:
    """(pid, parent pid) of every process in /proc."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # it ended meanwhile
        yield int(entry.name), int(stat.rsplit(")", 1)[1].split()[1])


def sandbox_files() -> tuple[str, ...]:
    """Every file of the grader package that the sandbox holds, relative to the package."""
    return CORE_SANDBOX_FILES + registry.sandbox_files()


def _job_message(job: Job[Any]) -> bytes:
    body = msgspec.json.encode(job)
    return f"{len(body)}\n".encode() + body


def _open_channels() -> tuple[_Channels, list[int]]:
    """Pipes for one child: ours to write jobs and read output and results, theirs for it."""
    job_r, job_w = os.pipe()
    output_r, output_w = os.pipe()
    result_r, result_w = os.pipe()
    return _Channels(job=job_w, output=output_r, result=result_r), [job_r, output_w, result_w]


def _sandbox_fault(reply: dict[str, Any] | None, run_id: str) -> str | None:
    """Why this run says nothing about the submission, being the sandbox's fault; None when it does."""
    if reply is None:
        return None  # no reply: the statuses say what happened (timeout, sandbox_lost, died)
    if reply.get("run") != run_id:
        return "the sandbox answered for another run"
    if "sandbox_fault" in reply:
        return str(reply["sandbox_fault"])
    if reply.get("confined") is not True:
        return f"the sandbox could not confine a child (exit code {reply.get('exit_code')}: {reply.get('setup_error') or 'no reason given'})"
    return None


class _Exchange:
    """Feeds the jobs and drains output, results and the fork server's reply, all at once.

    The first job goes in at once. The others wait for the first trace (its first frame, read
    by `grader.frames`): then the output still in the pipe is read, the pipe is closed, and only
    then are they written and the job pipe closed.
    """

    def __init__(
        self, control: socket.socket, channels: _Channels, messages: list[bytes], nonces: list[str], max_output_bytes: int, on_trace: TraceReady | None
    ) -> None:
        self.control = control
        self.on_trace = on_trace
        self.pending = memoryview(messages[0])
        self.later = b"".join(messages[1:])
        self.first_nonce = nonces[0]
        self.max_output_bytes = max_output_bytes
        self.output = bytearray()
        self.reader = FrameReader(nonces)
        self.frame_bytes = 0
        self.first_trace: dict[str, Any] | None = None
        self.reply: dict[str, Any] | None = None
        self.sandbox_lost = False
        self.flooded = False
        self.overdue = False
        self.streams = {channels.job: "job", channels.output: "output", channels.result: "result"}

    def run(self, deadline: float) -> None:
        selector = selectors.DefaultSelector()
        for fd, name in self.streams.items():
            os.set_blocking(fd, False)
            selector.register(fd, selectors.EVENT_WRITE if name == "job" else selectors.EVENT_READ, name)
        selector.register(self.control, selectors.EVENT_READ, "control")
        try:
            while not self.sandbox_lost and (self.reply is None or {"output", "result"} & set(self.streams.values())):
                remaining = deadline - time.perf_counter()
                if remaining <= 0:
                    self.overdue = True
                    return
                for key, _ in selector.select(timeout=min(remaining, 0.5)):
                    self._handle(selector, key)
        finally:
            selector.close()
            for fd in self.streams:
                os.close(fd)

    def _handle(self, selector: selectors.BaseSelector, key: selectors.SelectorKey) -> None:
        if key.data == "control":
            try:
                message = self.control.recv(65536)
            except OSError:  # reset: the sandbox died with our kill request unread
                message = b""
            if not message:
                self.sandbox_lost = True
            elif self.reply is None:
                self.reply = json.loads(message)
        elif key.data == "job":
            self._feed(selector, key.fd)
        else:
            chunk = os.read(key.fd, 65536)
            if not chunk:
                self._finish(selector, key.fd)
            elif key.data == "output":
                self._take_output(chunk)
            else:
                self._take_frames(chunk)
                if self.later and self.first_trace is None:
                    self._maybe_cross_to_later_jobs(selector)

    def _feed(self, selector: selectors.BaseSelector, fd: int) -> None:
        try:
            self.pending = self.pending[os.write(fd, self.pending) :]
        except BrokenPipeError:  # the child died before reading it all
            self.pending = memoryview(b"")
            self.later = b""
        if self.pending:
            return
        if self.later and self.first_trace is None:
            selector.unregister(fd)  # kept open, silent, until the first trace is in
        else:
            self._finish(selector, fd)

    def _maybe_cross_to_later_jobs(self, selector: selectors.BaseSelector) -> None:
        self.first_trace = self.reader.trace(self.first_nonce)
        if self.first_trace is None:
            return
        output = next((fd for fd, name in self.streams.items() if name == "output"), None)
        if output is not None:
            while chunk := _read_available(output):
                self._take_output(chunk)
            self._finish(selector, output)
        job = next(fd for fd, name in self.streams.items() if name == "job")
        self.pending, self.later = memoryview(bytes(self.pending) + self.later), b""
        if job not in selector.get_map():
            selector.register(job, selectors.EVENT_WRITE, "job")
        if self.on_trace is not None:
            self.on_trace(0, self.first_trace)

    def _finish(self, selector: selectors.BaseSelector, fd: int) -> None:
        selector.unregister(fd)
        del self.streams[fd]
        os.close(fd)

    def _take_output(self, chunk: bytes) -> None:
        room = self.max_output_bytes + 1 - len(self.output)
        self.output += chunk[: max(room, 0)]
        if room <= len(chunk) and not self.flooded:
            self.flooded = True  # one byte past the cap is how `truncated` will know
            self._ask_kill()

    def _take_frames(self, chunk: bytes) -> None:
        self.frame_bytes += len(chunk)
        if self.frame_bytes > MAX_TRACE_BYTES:
            if not self.flooded:
                self.flooded = True
                self._ask_kill()
            return
        self.reader.feed(chunk)

    def _ask_kill(self) -> None:
        try:
            self.control.send(json.dumps({"kill": True}).encode())
        except OSError:
            self.sandbox_lost = True


def _status(exchange: _Exchange, limits: Limits) -> str:
    reply = exchange.reply
    if exchange.flooded and len(exchange.output) > limits.max_output_bytes:
        return "output_limit"
    if exchange.overdue or (reply is not None and reply["timed_out"]):
        return "timeout"
    if exchange.sandbox_lost:
        return "sandbox_lost"
    if reply is None or exchange.flooded:
        return "died"
    if reply["exit_code"] == -signal.SIGXCPU or (reply["exit_code"] == -signal.SIGKILL and reply["cpu_s"] >= limits.cpu_s):
        return "cpu_time"
    return "finished"


def _read_available(fd: int) -> bytes:
    """What the pipe holds right now; empty at its end or when it would block."""
    try:
        return os.read(fd, 65536)
    except BlockingIOError:
        return b""
