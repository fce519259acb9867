"""The warm sandbox in the sandbox: imports torch once, then forks a fresh child per submission.

A child forked from this process starts with torch already imported, so a submission costs its
own compute plus a fork instead of a 1-2 s `import torch`. Nothing one submission does reaches
the next: its globals, monkeypatches and threads die with its child, its files are removed from
the scratch folder after it, and the confinement (`grader.confine`) keeps it from touching this
process. This module never sees a job's content: jobs travel on a pipe straight from the
trusted grader to the child.

Protocol on the control socket (SOCK_SEQPACKET, one JSON object per packet):
  sandbox -> grader  {"ready": true, ...}                  once, when torch is imported
  grader -> sandbox  {"run": id, "limits": {...}} + 3 fds  a child: its stdin (jobs), output, result pipe
  grader -> sandbox  {"kill": true}                        stop the running child now (output flood)
  sandbox -> grader  {"run": id, "exit_code": ..., ...}    once that child is gone; "confined" says
                                                          whether it got as far as running student code
  sandbox -> grader  {"run": id, "sandbox_fault": "..."}    instead, when this process finds its own limits
                                                          or scheduling changed: then it exits

A child runs under this process's uid, so whatever it could still change in this process
(limits, priority, CPU affinity, I/O priority) every later child would inherit: the child's
seccomp filter refuses those calls on any process but itself, and before each fork this process
checks that nothing of the kind changed since it started.

Run as `python -I forkserver.py CONTROL_FD SCRATCH_DIR [--no-warm-up]`; the standard library,
torch, msgspec and pyseccomp are all it imports besides the sandbox side of the grader package
(`grader.sandbox.sandbox_files`): its neighbours, the trace types and every kind's loop.
"""

from __future__ import annotations

import ctypes
import fcntl
import gc
import itertools
import json
import os
import re
import resource
import selectors
import signal
import socket
import sys
import time
from typing import Any, NoReturn

# The folder that holds the grader package: in the sandbox, only its sandbox side is there.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import torch  # noqa: E402  (the reason this process exists: every child inherits it)

from grader import confine, harness  # noqa: E402

PR_SET_DUMPABLE = 4
MADV_HUGEPAGE, MADV_COLLAPSE = 14, 25
HUGE_PAGE = 2 << 20
HUGE_PAGES_REFRESH = 64  # children between two collapses (this process's own writes split a few)
MAX_MESSAGE_BYTES = 65536
CHILD_FAILED = 70  # exit code of a child that could not be set up (EX_SOFTWARE)
CONFINED = b"confined"  # what a child says on its report pipe once confined, before any student code
MAX_REPORT_BYTES = 1000
IOPRIO_WHO_PROCESS = 1
SCHED_ATTR_BYTES = 56  # struct sched_attr, version 1 (with utilisation clamps)
# (ioprio_get, sched_getattr) by machine: the C library wraps neither.
SCHEDULING_SYSCALLS = {"x86_64": (252, 315), "aarch64": (31, 275)}


def main() -> None:
    control = socket.socket(fileno=int(sys.argv[1]))
    scratch = sys.argv[2]
    mounts = mount_points(scratch)
    _not_dumpable()
    torch.set_num_threads(1)
    long_lived = "--no-warm-up" not in sys.argv  # a sandbox for a single grade skips it all
    if long_lived:
        _warm_up()
        _huge_pages()
        empty_scratch(scratch, mounts)  # torch's warm-up leaves its caches there (torchinductor_*)
    _import_loops()
    confine.warm_up()
    started_with = inherited_state()
    control.send(json.dumps({"ready": True, "pid": os.getpid(), "torch": torch.__version__, "seccomp": confine.seccomp_available()}).encode())
    for served in itertools.count(1):
        try:
            message, fds, _, _ = socket.recv_fds(control, MAX_MESSAGE_BYTES, 3)
        except ConnectionError:
            return
        if not message:
            return  # the grader closed the socket: this sandbox is done
        request = json.loads(message)
        if "limits" not in request or len(fds) != 3:
            for fd in fds:
                os.close(fd)
            continue  # a late "kill" for a child that already ended
        if changed := changed_state(started_with):
            _refuse_to_fork(control, request.get("run"), fds, changed)
            return
        control.send(json.dumps({"run": request.get("run"), **_run_one(request["limits"], fds, control, scratch, mounts)}).encode())
        if long_lived and served % HUGE_PAGES_REFRESH == 0:
            _huge_pages()  # a few ms: most of the heap is still on 2 MB pages


def _import_loops() -> None:
    """Every kind's sandbox loop, imported once here rather than by every child."""
    drivers = os.path.join(os.path.dirname(os.path.abspath(__file__)), "drivers")
    for kind in sorted(os.listdir(drivers)):
        if os.path.isfile(os.path.join(drivers, kind, "loop.py")):
            harness.loop_for(kind)


def _warm_up() -> None:
    """Pay once, here, for what torch loads lazily, so that no child pays it again.

    An optimizer's first `step` imports torch._dynamo (about a second); losses and layers have
    first-call costs of their own. Then the heap is frozen (a few hundred ms): torch's hundreds
    of thousands of objects are never walked by a child's collector, and their pages, never
    dirtied by it, stay shared with every child.
    """
    weight = torch.ones(2, requires_grad=True)
    layer = torch.nn.Linear(2, 1)
    optimizer = torch.optim.SGD([weight, *layer.parameters()], lr=0.1)
    loss = torch.nn.MSELoss()(layer(weight), torch.zeros(1)) + torch.nn.functional.mse_loss(weight * 2, torch.ones(2))
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
    gc.collect()
    gc.freeze()


def _huge_pages() -> None:
    """Back the warm heap with 2 MB pages, where the kernel can (Linux 6.1+ collapses on request).

    Every fork copies a page-table entry per resident 4 KB page of this process's ~200 MB of
    private memory, and every child's exit frees them again: about 20 ms a child on 4 KB pages,
    5 ms on 2 MB ones. Only mappings that are almost wholly resident are collapsed (the heap,
    torch's arenas), not sparse ones such as thread stacks, whose untouched pages would then be
    filled in. A child's first write to a shared huge page copies 4 KB, as before; this
    process's own writes while a child lives split the page they hit, hence a refresh now and
    then.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    libc.madvise.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
    try:
        ranges = _dense_private_ranges()
    except OSError:  # no /proc to read: small pages, slower forks, nothing else
        return
    for start, end in ranges:
        if libc.madvise(start, end - start, MADV_HUGEPAGE) == 0:
            libc.madvise(start, end - start, MADV_COLLAPSE)  # best effort: small pages stay where it cannot


def _dense_private_ranges(min_resident: float = 0.75) -> list[tuple[int, int]]:
    """The 2 MB-aligned parts of this process's anonymous writable mappings that are mostly resident."""
    ranges, mapping = [], None
    with open("/proc/self/smaps") as smaps:
        for line in smaps:
            fields = line.split()
            if fields[0].endswith(":"):
                if fields[0] == "Anonymous:" and mapping is not None:
                    start, end = mapping
                    aligned_start, aligned_end = -(-start // HUGE_PAGE) * HUGE_PAGE, end // HUGE_PAGE * HUGE_PAGE
                    if aligned_end > aligned_start and int(fields[1]) * 1024 >= min_resident * (end - start):
                        ranges.append((aligned_start, aligned_end))
                continue
            low, high = (int(bound, 16) for bound in fields[0].split("-"))
            anonymous = len(fields) < 6 or fields[5] == "[heap]"
            mapping = (low, high) if fields[1] == "rw-p" and anonymous else None
    return ranges


def _run_one(limits: dict[str, Any], fds: list[int], control: socket.socket, scratch: str, mounts: frozenset[str]) -> dict[str, Any]:
    report_r, report_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        _child(limits, [*fds, report_w], scratch)
    for fd in (*fds, report_w):
        os.close(fd)
    try:
        outcome = _supervise(pid, limits["wall_s"], control)
        report = os.read(report_r, MAX_REPORT_BYTES)  # the child is gone: its write end is closed
    finally:
        os.close(report_r)
    confined = report == CONFINED
    outcome.update(confined=confined, setup_error=None if confined else report.decode("utf-8", errors="replace"))
    _restore_mode(scratch)
    empty_scratch(scratch, mounts)
    return outcome


def _restore_mode(scratch: str) -> None:
    """Where the child owns its scratch folder (a user namespace, unsafe mode) it may have
    taken away everyone's rights on it; give them back. Elsewhere it is not ours to change."""
    try:
        os.chmod(scratch, 0o1777)
    except PermissionError:
        pass


def _child(limits: dict[str, Any], fds: list[int], scratch: str) -> NoReturn:
    """Become the submission's process: its pipes as fds 0-3, nothing else open, confined.

    Once confined, it says so on its report pipe (fd 4) and closes it, before any student
    code runs: an exit code of CHILD_FAILED that student code chose itself (`os._exit(70)`)
    cannot pass for a child this sandbox failed to set up.
    """
    report: int | None = None
    try:
        job_fd, output_fd, result_fd, report_fd = fds
        _take_fds([job_fd, output_fd, output_fd, result_fd, report_fd])
        report = 4
        os.chdir(scratch)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        confine.apply_limits(limits)
        if limits["seccomp"]:
            confine.install_seccomp()
        _say(report, CONFINED)
    except BaseException as error:
        try:
            if report is not None:
                _say(report, f"{type(error).__name__}: {error}".encode("utf-8", errors="replace")[:MAX_REPORT_BYTES])
        finally:
            os._exit(CHILD_FAILED)
    try:
        harness.serve(3)
    finally:
        os._exit(CHILD_FAILED)


def _take_fds(fds: list[int]) -> None:
    """fds[i] becomes fd i, and nothing else stays open (the control socket above all).

    Each is first copied above the targets, so that none is overwritten before it is moved.
    """
    above = [fcntl.fcntl(fd, fcntl.F_DUPFD, len(fds)) for fd in fds]
    for target, fd in enumerate(above):
        os.dup2(fd, target)
    os.closerange(len(fds), 1 << 20)  # close_range: cheap however high


def _say(fd: int, message: bytes) -> None:
    try:
        os.write(fd, message)  # a pipe takes up to 4 KB at once, whole
    finally:
        os.close(fd)


def _supervise(pid: int, wall_s: float, control: socket.socket) -> dict[str, Any]:
    """Wait for the child, killing it at its wall-time limit or when the grader asks."""
    started = time.monotonic()
    pidfd = os.pidfd_open(pid)
    selector = selectors.DefaultSelector()
    selector.register(pidfd, selectors.EVENT_READ, "child")
    selector.register(control, selectors.EVENT_READ, "control")
    timed_out = killed = False
    try:
        while not (timed_out or killed):
            remaining = started + wall_s - time.monotonic()
            events = selector.select(timeout=max(remaining, 0)) if remaining > 0 else []
            if not events and remaining <= 0:
                timed_out = True
            if any(key.data == "child" for key, _ in events):
                break
            if any(key.data == "control" for key, _ in events):
                message = control.recv(MAX_MESSAGE_BYTES)
                if not message:  # the grader is gone: so is its job
                    os.kill(pid, signal.SIGKILL)
                    sys.exit(0)
                killed = json.loads(message).get("kill", False)
        if timed_out or killed:
            os.kill(pid, signal.SIGKILL)
        _, status, usage = os.wait4(pid, 0)
    finally:
        selector.close()
        os.close(pidfd)
    return {
        "exit_code": os.waitstatus_to_exitcode(status),
        "timed_out": timed_out,
        "killed": killed,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "max_rss_kb": usage.ru_maxrss,
        "wall_ms": (time.monotonic() - started) * 1000,
    }


def empty_scratch(folder: str, mounts: frozenset[str]) -> None:
    """Remove all the child left behind. A failure here ends the sandbox: better than a leak.

    The runtime may be mounted inside the scratch folder (a virtual environment under /tmp, as
    in a fresh clone there): mount points and the folders that lead to them stay, the rest goes.
    """
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.path in mounts:
                continue
            if entry.is_dir(follow_symlinks=False):
                if any(mount.startswith(entry.path + "/") for mount in mounts):
                    empty_scratch(entry.path, mounts)  # as deep as the runtime's mount point, no deeper
                else:
                    _remove_tree(entry.path)
            else:
                os.unlink(entry.path)


def mount_points(folder: str) -> frozenset[str]:
    """The mount points below `folder`, read from /proc/self/mountinfo."""
    with open("/proc/self/mountinfo") as mountinfo:
        points = {_unescape(line.split()[4]) for line in mountinfo}
    return frozenset(point for point in points if point.startswith(folder.rstrip("/") + "/"))


def _unescape(field: str) -> str:
    """mountinfo writes space, tab, newline and backslash as octal escapes."""
    return re.sub(r"\\([0-7]{3})", lambda match: chr(int(match.group(1), 8)), field)


def _remove_tree(path: str) -> None:
    """Remove a folder and all below it, however deep, without recursion.

    One folder is open at a time and the way back up is "..", so neither Python's stack, nor
    the open files, nor PATH_MAX limit the depth; the child is dead, so nothing moves meanwhile.
    A child may leave folders it made unreadable or unwritable: they get their rights back.
    """
    above = os.open(os.path.dirname(path), _FOLDER_FLAGS)
    names = [os.path.basename(path)]
    folder = _open_folder(names[0], above)
    try:
        while True:
            inner = _emptied_but_for_a_folder(folder)
            if inner is not None:
                names.append(inner)
                folder = _swap(folder, _open_folder(inner, folder))
            elif len(names) == 1:
                break
            else:
                folder = _swap(folder, os.open("..", _FOLDER_FLAGS, dir_fd=folder))
                os.rmdir(names.pop(), dir_fd=folder)
        os.close(folder)
        folder = -1
        os.rmdir(names[0], dir_fd=above)
    finally:
        if folder != -1:
            os.close(folder)
        os.close(above)


_FOLDER_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def _open_folder(name: str, parent: int) -> int:
    """An fd of the folder `name` in `parent`, with its owner's rights restored if need be."""
    try:
        folder = os.open(name, _FOLDER_FLAGS, dir_fd=parent)
    except PermissionError:
        os.chmod(name, 0o700, dir_fd=parent)  # a folder, not a link: scandir said so, and O_NOFOLLOW
        folder = os.open(name, _FOLDER_FLAGS, dir_fd=parent)
    if os.fstat(folder).st_mode & 0o700 != 0o700:
        os.fchmod(folder, 0o700)
    return folder


def _emptied_but_for_a_folder(folder: int) -> str | None:
    """Unlink what is not a folder in `folder`, up to its first subfolder: that one's name, or None once empty."""
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                return entry.name
            os.unlink(entry.name, dir_fd=folder)
    return None


def _swap(old: int, new: int) -> int:
    os.close(old)
    return new


def inherited_state() -> dict[str, Any]:
    """What every child inherits from this process, and a process of its uid could change."""
    state: dict[str, Any] = {name: resource.getrlimit(getattr(resource, name)) for name in dir(resource) if name.startswith("RLIMIT_")}
    state["nice"] = os.getpriority(os.PRIO_PROCESS, 0)
    state["scheduling policy"] = os.sched_getscheduler(0)
    state["scheduling priority"] = os.sched_getparam(0).sched_priority
    state["CPU affinity"] = sorted(os.sched_getaffinity(0))
    return state | _kernel_scheduling()


def _kernel_scheduling() -> dict[str, Any]:
    """The I/O priority and the whole scheduling attributes (utilisation clamps, reset-on-fork),
    where this machine's syscall numbers are known."""
    numbers = SCHEDULING_SYSCALLS.get(os.uname().machine)
    if numbers is None:
        return {}
    libc = ctypes.CDLL(None, use_errno=True)
    ioprio_get, sched_getattr = numbers
    attributes = ctypes.create_string_buffer(SCHED_ATTR_BYTES)
    read = libc.syscall(sched_getattr, 0, attributes, SCHED_ATTR_BYTES, 0) == 0
    return {"I/O priority": libc.syscall(ioprio_get, IOPRIO_WHO_PROCESS, 0), "scheduling attributes": attributes.raw.hex() if read else None}


def changed_state(started_with: dict[str, Any]) -> str:
    """What differs from the state this process started with ('' when nothing does)."""
    now = inherited_state()
    return "; ".join(f"{name} {started_with[name]} -> {now.get(name)}" for name in started_with if now.get(name) != started_with[name])


def _refuse_to_fork(control: socket.socket, run: Any, fds: list[int], changed: str) -> None:
    """A child could not be confined as the limits say: tell the grader, which replaces this sandbox."""
    for fd in fds:
        os.close(fd)
    print(f"forkserver: refusing to fork, changed since start: {changed}", file=sys.stderr, flush=True)
    control.send(json.dumps({"run": run, "sandbox_fault": f"the sandbox's own state changed since it started ({changed})"[:MAX_MESSAGE_BYTES // 2]}).encode())


def _not_dumpable() -> None:
    """Children inherit this: none can trace this process or read its memory through /proc."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)


if __name__ == "__main__":
    main()
