"""A child cannot change or signal the warm fork server it was forked from, and a sandbox that is
changed anyway, or cannot confine a child, is the grader's fault: never the next student's crash.

The fork server runs under the child's uid, so what a child sets on it (limits, priorities,
CPU affinity, I/O priority, a signal on I/O) every later child of that sandbox would inherit.
"""

from __future__ import annotations

import ctypes
import os
import resource
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pyseccomp
import pytest
from submissions import GOOD_LINEAR
from test_hostile import still_grades  # noqa: F401  (the fixture)

from grader.grading import build_jobs, grade_submission
from grader.pool import SandboxPool
from grader.sandbox import Sandbox, SandboxFault

ARCH = pyseccomp.system_arch()
SCHED_SETATTR = pyseccomp.resolve_syscall(ARCH, "sched_setattr")
IOPRIO_SET = pyseccomp.resolve_syscall(ARCH, "ioprio_set")
IOPRIO_GET = pyseccomp.resolve_syscall(ARCH, "ioprio_get")
SETRESUID = pyseccomp.resolve_syscall(ARCH, "setresuid")
SETRESGID = pyseccomp.resolve_syscall(ARCH, "setresgid")
IDLE_IO = 3 << 13  # IOPRIO_CLASS_IDLE
LIBC = ctypes.CDLL(None, use_errno=True)


def raw_syscall(number: int, *args: str) -> str:
    """Student code that makes a raw syscall and raises the errno it fails with (EPERM: PermissionError)."""
    return (
        "import ctypes, os\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        f"if libc.syscall({number}, {', '.join(args)}) == -1:\n"
        "    raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))\n"
    )


MAPPED_PLUS_64_MB = "int(open('/proc/self/statm').read().split()[0]) * os.sysconf('SC_PAGE_SIZE') + 2 ** 26"
IDLE_ATTRIBUTES = "ctypes.create_string_buffer((56).to_bytes(4, 'little') + (5).to_bytes(4, 'little') + bytes(8) + (19).to_bytes(4, 'little'), 56)"
CHANGES_TO_THE_FORK_SERVER = {
    "address-space": f"import os, resource\nm = {MAPPED_PLUS_64_MB}\nresource.prlimit(os.getppid(), resource.RLIMIT_AS, (m, m))\n",
    "data-segment": f"import os, resource\nm = {MAPPED_PLUS_64_MB}\nresource.prlimit(os.getppid(), resource.RLIMIT_DATA, (m, m))\n",
    "open-files": "import os, resource\nresource.prlimit(os.getppid(), resource.RLIMIT_NOFILE, (8, 8))\n",
    "nice": "import os\nos.setpriority(os.PRIO_PROCESS, os.getppid(), 19)\n",
    "nice-of-the-group": "import os\nos.setpriority(os.PRIO_PGRP, 0, 19)\n",
    "nice-of-the-user": "import os\nos.setpriority(os.PRIO_USER, 0, 19)\n",
    "scheduling-policy": "import os\nos.sched_setscheduler(os.getppid(), os.SCHED_IDLE, os.sched_param(0))\n",
    "scheduling-priority": "import os\nos.sched_setparam(os.getppid(), os.sched_param(0))\n",
    "scheduling-attributes": raw_syscall(SCHED_SETATTR, "os.getppid()", IDLE_ATTRIBUTES, "0"),
    "affinity": "import os\nos.sched_setaffinity(os.getppid(), {min(os.sched_getaffinity(0))})\n",
    "io-priority": raw_syscall(IOPRIO_SET, "1", "os.getppid()", str(IDLE_IO)),
    "io-priority-of-the-group": raw_syscall(IOPRIO_SET, "2", "0", str(IDLE_IO)),
    "io-priority-of-the-user": raw_syscall(IOPRIO_SET, "3", "0", str(IDLE_IO)),
}
SIGNALS_TO_THE_FORK_SERVER = {
    "sigkill-on-input": "import fcntl, os, signal\nr, w = os.pipe()\nfcntl.fcntl(r, fcntl.F_SETFL, os.O_ASYNC | os.O_NONBLOCK)\nfcntl.fcntl(r, fcntl.F_SETSIG, signal.SIGKILL)\nfcntl.fcntl(r, fcntl.F_SETOWN, os.getppid())\nos.write(w, b'x')\n",
    "sigstop-to-the-group": "import fcntl, os\nr, w = os.pipe()\nfcntl.fcntl(r, fcntl.F_SETFL, os.O_ASYNC | os.O_NONBLOCK)\nfcntl.fcntl(r, fcntl.F_SETOWN, -os.getpgid(0))\nos.write(w, b'x')\n",
    "owner-ex": "import fcntl, os, struct\nr, w = os.pipe()\nfcntl.fcntl(r, fcntl.F_SETFL, os.O_ASYNC | os.O_NONBLOCK)\nfcntl.fcntl(r, 15, struct.pack('ii', 1, os.getppid()))\nos.write(w, b'x')\n",
    "lease": "import fcntl, os\nfd = os.open('/tmp/leased', os.O_RDONLY | os.O_CREAT)\nfcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_RDLCK)\n",
    "dnotify": "import fcntl, os\nfd = os.open('/tmp', os.O_RDONLY)\nfcntl.fcntl(fd, fcntl.F_NOTIFY, fcntl.DN_CREATE | fcntl.DN_MULTISHOT)\n",
}


def fork_server_pid(sandbox: Sandbox) -> int:
    """The sandbox's fork server, seen from the host: the process whose pid in the sandbox's
    namespace (the last of its NSpid) is the one it reported when ready."""
    in_sandbox = str(sandbox.wait_ready()["pid"])

    def namespace_pid(pid: int) -> str | None:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            return None
        return next((line.split()[-1] for line in status.splitlines() if line.startswith("NSpid:")), None)

    (pid,) = [pid for pid in sandbox.processes() if pid != sandbox.pid and namespace_pid(pid) == in_sandbox]
    return pid


def seen_from_the_host(pid: int) -> dict[str, object]:
    """What a child inherits from this process, read from outside the sandbox."""
    return {
        "limits": Path(f"/proc/{pid}/limits").read_text(),
        "nice": os.getpriority(os.PRIO_PROCESS, pid),
        "policy": os.sched_getscheduler(pid),
        "affinity": os.sched_getaffinity(pid),
        "io priority": LIBC.syscall(IOPRIO_GET, 1, pid),
        "process group": os.getpgid(pid),
    }


@pytest.mark.parametrize("change", CHANGES_TO_THE_FORK_SERVER.values(), ids=CHANGES_TO_THE_FORK_SERVER.keys())
def test_a_child_cannot_change_its_fork_server(grade, pool, still_grades, change):  # noqa: F811
    pool.wait_ready()
    before = {sandbox: seen_from_the_host(fork_server_pid(sandbox)) for sandbox in pool.sandboxes()}
    report = grade("linear", change + GOOD_LINEAR)
    assert report.outcome == "forbidden", report.message
    assert "PermissionError" in report.message
    assert {sandbox: seen_from_the_host(fork_server_pid(sandbox)) for sandbox in before} == before
    still_grades()


@pytest.mark.parametrize("signalling", SIGNALS_TO_THE_FORK_SERVER.values(), ids=SIGNALS_TO_THE_FORK_SERVER.keys())
def test_a_child_cannot_have_the_kernel_signal_its_fork_server(grade, still_grades, signalling):  # noqa: F811
    report = grade("linear", signalling + GOOD_LINEAR)
    assert report.outcome == "forbidden", report.message
    assert "PermissionError" in report.message
    still_grades()


WITNESS = "import os, resource\nprint(os.getpriority(os.PRIO_PROCESS, 0), os.sched_getscheduler(0), sorted(os.sched_getaffinity(0)), resource.getrlimit(resource.RLIMIT_DATA))\n"


def lowered_address_space(pid: int) -> None:
    mapped = int(Path(f"/proc/{pid}/statm").read_text().split()[0]) * os.sysconf("SC_PAGE_SIZE") + 2**26
    resource.prlimit(pid, resource.RLIMIT_AS, (mapped, mapped))


def one_cpu(pid: int) -> None:
    os.sched_setaffinity(pid, {min(os.sched_getaffinity(pid))})


def idle_io(pid: int) -> None:
    if LIBC.syscall(IOPRIO_SET, 1, pid, IDLE_IO) != 0:
        raise OSError(ctypes.get_errno(), "ioprio_set")


TAMPERING = {
    "address-space": lowered_address_space,
    "open-files": lambda pid: resource.prlimit(pid, resource.RLIMIT_NOFILE, (16, 16)),
    "data-segment": lambda pid: resource.prlimit(pid, resource.RLIMIT_DATA, (2**40, 2**40)),
    "nice": lambda pid: os.setpriority(os.PRIO_PROCESS, pid, 10),
    "scheduling-policy": lambda pid: os.sched_setscheduler(pid, os.SCHED_BATCH, os.sched_param(0)),
    "affinity": one_cpu,
    "io-priority": idle_io,
}


def tamper_with(pid: int, change: Callable[[int], None]) -> None:
    """Make the change to the fork server from outside the sandbox, with its uid and gid (what a
    child has, without its filter): even root may lack CAP_SYS_RESOURCE, and prlimit on another
    process takes matching ids. The ids are changed in a thread of its own with the raw syscalls,
    which change that thread alone (the C library's wrappers would change every thread)."""
    uid, gid = (int(line.split()[1]) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if line.startswith(("Uid:", "Gid:")))
    failures: list[BaseException] = []

    def as_its_ids() -> None:
        switched = uid != os.geteuid()
        try:
            if switched:
                set_ids(SETRESGID, gid)
                set_ids(SETRESUID, uid)
            change(pid)
        except BaseException as error:
            failures.append(error)
        finally:
            if switched:
                set_ids(SETRESUID, 0)
                set_ids(SETRESGID, 0)

    thread = threading.Thread(target=as_its_ids)
    thread.start()
    thread.join()
    if failures:
        raise failures[0]


def set_ids(syscall: int, value: int) -> None:
    """Real and effective ids of this thread only; the saved one stays, so that it can switch back."""
    if LIBC.syscall(syscall, value, value, -1) != 0:
        raise OSError(ctypes.get_errno(), "could not switch this thread's ids")


@pytest.fixture(scope="module")
def pool_of_one():
    """One sandbox, so that the tampered one is the one that grades next."""
    with SandboxPool(1) as pool:
        yield pool


@pytest.mark.parametrize("tamper", TAMPERING.values(), ids=TAMPERING.keys())
def test_a_fork_server_changed_anyway_is_replaced_and_the_submission_graded_again(catalog, pool_of_one, tamper):
    """Should a change reach a fork server by a way the filter does not foresee (here, from the
    host), the fork server refuses to fork: the submission is graded again on a fresh sandbox."""
    if tamper is one_cpu and len(os.sched_getaffinity(0)) < 2:
        pytest.skip("one CPU: no affinity to narrow")
    untouched = grade_submission(catalog["linear"], WITNESS + GOOD_LINEAR, pool_of_one)
    replaced_before = pool_of_one.replaced
    (changed,) = pool_of_one.sandboxes()
    tamper_with(fork_server_pid(changed), tamper)
    report = grade_submission(catalog["linear"], WITNESS + GOOD_LINEAR, pool_of_one)
    assert report.is_full_score, report.message
    assert report.stdout == untouched.stdout  # it ran with the fresh sandbox's own state
    assert (pool_of_one.replaced - replaced_before, changed.alive) == (1, False)
    assert grade_submission(catalog["linear"], GOOD_LINEAR, pool_of_one).is_full_score
    assert pool_of_one.replaced - replaced_before == 1


def test_a_changed_fork_server_says_what_changed(catalog):
    with Sandbox() as sandbox:
        tamper_with(fork_server_pid(sandbox), TAMPERING["open-files"])
        with pytest.raises(SandboxFault, match=r"RLIMIT_NOFILE \(\d+, \d+\) -> \(16, 16\)"):
            sandbox.run(build_jobs(catalog["linear"], GOOD_LINEAR)[:1], catalog["linear"].limits)
        assert not sandbox.alive


def unconfinable(catalog):
    """`linear` with an open-files limit no child can take (above the kernel's own maximum)."""
    exercise = catalog["linear"]
    return replace(exercise, limits=replace(exercise.limits, open_files=10**8))


def test_a_child_that_cannot_be_confined_is_a_sandbox_fault(catalog):
    exercise = unconfinable(catalog)
    with Sandbox() as sandbox:
        with pytest.raises(SandboxFault, match="could not confine a child.*exit code 70.*ValueError"):
            sandbox.run(build_jobs(exercise, GOOD_LINEAR)[:1], exercise.limits)
        assert not sandbox.alive


def test_a_grader_that_cannot_confine_any_child_says_it_is_not_the_students_fault(catalog):
    with SandboxPool(1) as pool:
        report = grade_submission(unconfinable(catalog), GOOD_LINEAR, pool)
        assert report.outcome == "internal_error"
        assert "not your code's fault" in report.message
        assert pool.replaced == 2  # graded again on a fresh sandbox, which could not confine it either
        assert grade_submission(catalog["linear"], GOOD_LINEAR, pool).is_full_score


def test_exiting_with_the_setup_failure_code_is_the_students_own_crash(grade, still_grades):  # noqa: F811
    """Student code that exits 70 (what a child that cannot be set up exits with) is not taken
    for a sandbox fault: the child had said it was confined before any student code ran."""
    report = grade("linear", "import os\nos._exit(70)\n" + GOOD_LINEAR)
    assert report.outcome == "crashed"
    assert "exit code 70" in report.message
    still_grades()
