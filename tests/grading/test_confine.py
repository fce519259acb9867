"""The child's seccomp filter, call by call: it may change itself, never another process.

A probe process installs the real filter (`grader.confine.install_seccomp`) and makes each call
through `syscall(2)`, so that no C library wrapper hides an argument. Every call passes values
read just before, so a call that the filter wrongly let through would change nothing.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from grader.sandbox import GRADER_DIR

PROBE = textwrap.dedent(
    """\
    import ctypes, errno, fcntl, json, os, sys, tempfile
    sys.path.insert(0, sys.argv[1])
    import confine, pyseccomp

    libc = ctypes.CDLL(None, use_errno=True)
    arch = pyseccomp.system_arch()
    me, parent, unused_uid = os.getpid(), os.getppid(), 54321
    folder = tempfile.mkdtemp()
    lease_file = os.open(os.path.join(folder, "leased"), os.O_RDONLY | os.O_CREAT)
    folder_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    pipe_r, pipe_w = os.pipe()

    def syscall(name, *args):
        result = libc.syscall(pyseccomp.resolve_syscall(arch, name), *[ctypes.c_long(a) if isinstance(a, int) else a for a in args])
        return "ok" if result != -1 else errno.errorcode[ctypes.get_errno()]

    def buffer_from(name, pid, size):
        buffer = ctypes.create_string_buffer(size)
        ctypes.memmove(buffer, ctypes.c_uint32(size).value.to_bytes(4, sys.byteorder), 4)
        assert libc.syscall(pyseccomp.resolve_syscall(arch, name), pid, *((size, buffer) if name == "sched_getaffinity" else (buffer, size, 0))) != -1
        return buffer

    affinity = {pid: buffer_from("sched_getaffinity", pid, 128) for pid in (me, parent)}
    attributes = {pid: buffer_from("sched_getattr", pid, 56) for pid in (me, parent)}
    param = ctypes.c_int(0)
    nice = {pid: os.getpriority(os.PRIO_PROCESS, pid) for pid in (me, parent)}
    ioprio = {pid: libc.syscall(pyseccomp.resolve_syscall(arch, "ioprio_get"), 1, pid) for pid in (me, parent)}
    old_limit = (ctypes.c_uint64 * 2)()

    confine.install_seccomp()
    results = {}
    for name, pid in [("0", 0), ("own pid", me), ("parent", parent), ("pid 1", 1), ("own pid - 1", me - 1), ("own pid + 1", me + 1), ("-1", -1), ("own pid + 2**32", me + 2**32)]:
        results[f"prlimit64 {name}"] = syscall("prlimit64", pid, 7, None, old_limit)
    for name, pid, of in [("0", 0, me), ("own pid", me, me), ("parent", parent, parent)]:
        results[f"sched_setaffinity {name}"] = syscall("sched_setaffinity", pid, 128, affinity[of])
        results[f"sched_setscheduler {name}"] = syscall("sched_setscheduler", pid, 0, ctypes.byref(param))
        results[f"sched_setparam {name}"] = syscall("sched_setparam", pid, ctypes.byref(param))
        results[f"sched_setattr {name}"] = syscall("sched_setattr", pid, attributes[of], 0)
        results[f"setpriority PRIO_PROCESS {name}"] = syscall("setpriority", 0, pid, nice[of])
        results[f"ioprio_set IOPRIO_WHO_PROCESS {name}"] = syscall("ioprio_set", 1, pid, ioprio[of])
    results["setpriority PRIO_PGRP 0"] = syscall("setpriority", 1, 0, nice[me])
    results["setpriority PRIO_USER unused uid"] = syscall("setpriority", 2, unused_uid, nice[me])
    results["ioprio_set IOPRIO_WHO_PGRP 0"] = syscall("ioprio_set", 2, 0, ioprio[me])
    results["ioprio_set IOPRIO_WHO_USER unused uid"] = syscall("ioprio_set", 3, unused_uid, ioprio[me])
    results["setpgid parent"] = syscall("setpgid", parent, parent)
    results["setpgid 0 into the parent's group"] = syscall("setpgid", 0, os.getpgid(parent))
    results["setpgid 0 0"] = syscall("setpgid", 0, 0)
    results["fcntl F_GETOWN"] = syscall("fcntl", pipe_r, fcntl.F_GETOWN)
    results["fcntl F_SETFL"] = syscall("fcntl", pipe_r, fcntl.F_SETFL, os.O_NONBLOCK)
    results["fcntl F_SETOWN"] = syscall("fcntl", pipe_r, fcntl.F_SETOWN, me)
    results["fcntl F_SETOWN + 2**32"] = syscall("fcntl", pipe_r, fcntl.F_SETOWN + 2**32, me)
    results["fcntl F_SETOWN_EX"] = syscall("fcntl", pipe_r, 15, (ctypes.c_int * 2)(1, me))
    results["fcntl F_SETSIG"] = syscall("fcntl", pipe_r, fcntl.F_SETSIG, 0)
    results["fcntl F_SETLEASE"] = syscall("fcntl", lease_file, fcntl.F_SETLEASE, fcntl.F_UNLCK)
    results["fcntl F_NOTIFY"] = syscall("fcntl", folder_fd, fcntl.F_NOTIFY, 0)
    results["ioctl FIOSETOWN"] = syscall("ioctl", pipe_r, 0x8901, ctypes.byref(ctypes.c_int(me)))
    results["migrate_pages"] = syscall("migrate_pages", 0, 0, None, None)
    print(json.dumps(results))
    """
)
ALLOWED = [
    "prlimit64 0", "prlimit64 own pid", "setpgid 0 0", "fcntl F_GETOWN", "fcntl F_SETFL",
    *(f"{call} {target}" for call in ("sched_setaffinity", "sched_setscheduler", "sched_setparam", "sched_setattr", "setpriority PRIO_PROCESS", "ioprio_set IOPRIO_WHO_PROCESS") for target in ("0", "own pid")),
]
REFUSED = [
    "prlimit64 parent", "prlimit64 pid 1", "prlimit64 own pid - 1", "prlimit64 own pid + 1", "prlimit64 -1", "prlimit64 own pid + 2**32",
    *(f"{call} parent" for call in ("sched_setaffinity", "sched_setscheduler", "sched_setparam", "sched_setattr", "setpriority PRIO_PROCESS", "ioprio_set IOPRIO_WHO_PROCESS")),
    "setpriority PRIO_PGRP 0", "setpriority PRIO_USER unused uid", "ioprio_set IOPRIO_WHO_PGRP 0", "ioprio_set IOPRIO_WHO_USER unused uid",
    "setpgid parent", "setpgid 0 into the parent's group",
    "fcntl F_SETOWN", "fcntl F_SETOWN + 2**32", "fcntl F_SETOWN_EX", "fcntl F_SETSIG", "fcntl F_SETLEASE", "fcntl F_NOTIFY", "ioctl FIOSETOWN",
    "migrate_pages",
]


@pytest.fixture(scope="module")
def results() -> dict[str, str]:
    """What each call gave under the filter: "ok" or the errno's name. The probe leads its own
    process group, so that "its group" holds no other process."""
    probe = subprocess.run([sys.executable, "-I", "-c", PROBE, str(GRADER_DIR)], capture_output=True, text=True, timeout=120, process_group=0)
    assert probe.returncode == 0, probe.stderr
    return json.loads(probe.stdout)


def test_every_call_is_probed(results):
    assert set(results) == set(ALLOWED) | set(REFUSED)


@pytest.mark.parametrize("call", ALLOWED)
def test_a_child_may_change_itself(results, call):
    assert results[call] == "ok"


@pytest.mark.parametrize("call", REFUSED)
def test_a_child_may_not_change_another_process_or_have_it_signalled(results, call):
    assert results[call] == "EPERM"
