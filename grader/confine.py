"""Narrows what the child that runs one submission may do, just before the submission runs.

Runs in the sandbox, in the child that the fork server (`grader.forkserver`) forks for one
submission.
The namespaces around it (`grader.sandbox`) already hide the host; this adds what namespaces
cannot: resource limits for this one child, and a seccomp filter that keeps it from touching
the warm worker it was forked from or leaving anything behind for the next submission.

Standard library only, plus `pyseccomp` (ctypes over libseccomp), which the fork server imports
before it forks so the child never pays for it.
"""

from __future__ import annotations

import errno
import math
import os
import resource
from typing import Any

try:
    import pyseccomp as seccomp
except (ImportError, OSError, RuntimeError):  # no libseccomp: only the unsafe mode may run without it
    seccomp = None

CLONE_THREAD = 0x00010000
ARG_MASK = 0xFFFF_FFFF_FFFF_FFFF  # seccomp compares the whole 64-bit register
COMMAND_MASK = 0xFFFF_FFFF  # the kernel reads fcntl's and ioctl's command as an unsigned int: compare what it reads
PRIO_PROCESS = 0
IOPRIO_WHO_PROCESS = 1

# Syscalls that no exercise needs, grouped by what refusing them protects.
FORBIDDEN_SYSCALLS = (
    # the warm worker and the grader: no tracing or reading another process's memory
    "ptrace", "process_vm_readv", "process_vm_writev", "kcmp",
    "pidfd_open", "pidfd_send_signal", "pidfd_getfd",
    # the warm worker: nothing that moves or reclaims another process's memory
    "migrate_pages", "move_pages", "process_madvise", "process_mrelease",
    # the next submission: nothing that outlives this child (System V and POSIX IPC)
    "shmget", "semget", "msgget", "mq_open",
    # the network: the sandbox has none, and unsafe mode should not have any either
    "socket", "socketpair",
    # other programs: nothing but this Python runs here
    "execve", "execveat",
    # the kernel's larger attack surface
    "unshare", "setns", "mount", "umount2", "pivot_root", "chroot", "bpf", "perf_event_open",
    "userfaultfd", "keyctl", "add_key", "request_key", "io_uring_setup", "io_uring_enter", "io_uring_register",
)
SIGNAL_SYSCALLS = ("kill", "tkill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo")
# Calls that change the process (or group, or user) they name: the fork server shares this
# child's uid, and what is set on it, every later child inherits. (syscall, index of its pid)
TARGETED_SYSCALLS = (
    ("prlimit64", 0), ("sched_setaffinity", 0), ("sched_setscheduler", 0), ("sched_setparam", 0), ("sched_setattr", 0),
    ("setpriority", 1), ("ioprio_set", 1), ("setpgid", 0), ("setpgid", 1),
)
# Calls whose first argument says what kind of target the second names: a process, only.
TARGET_KIND = (("setpriority", PRIO_PROCESS), ("ioprio_set", IOPRIO_WHO_PROCESS))
# fcntl commands that make the kernel signal a process on an event of a file: the owner may be
# any process (or group) of this uid, and the signal any, SIGKILL included. fcntl64 is their
# name on 32-bit systems.
F_SETOWN, F_SETSIG, F_SETOWN_EX, F_SETLEASE, F_NOTIFY = 8, 10, 15, 1024, 1026
SIGNALLING_FCNTL = (F_SETOWN, F_SETSIG, F_SETOWN_EX, F_SETLEASE, F_NOTIFY)
FIOSETOWN, SIOCSPGRP = 0x8901, 0x8902  # F_SETOWN spelt as ioctl (sockets)
SIGNALLING_IOCTL = (FIOSETOWN, SIOCSPGRP)


def seccomp_available() -> bool:
    return seccomp is not None


def apply_limits(limits: dict[str, Any]) -> None:
    """Resource limits for this child only; the warm worker keeps its own.

    Memory is capped as address space on top of what the warm worker already maps (torch alone
    maps far more than it touches), so the limit means "this much more than an empty run".
    """
    address_space = _mapped_bytes() + int(limits["memory_mb"]) * 1024 * 1024
    cpu_s = math.ceil(limits["cpu_s"])
    resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 1))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits["max_file_bytes"], limits["max_file_bytes"]))
    resource.setrlimit(resource.RLIMIT_NOFILE, (limits["open_files"], limits["open_files"]))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def install_seccomp() -> None:
    """No new processes or programs, no signals or changes but to itself, and none of FORBIDDEN_SYSCALLS.

    Refused calls fail with EPERM, so student code sees an ordinary PermissionError that the
    grader reports as `forbidden`. Threads stay allowed: torch may start them. clone3 answers
    ENOSYS so that the C library falls back to clone, whose flags the filter can read.
    """
    if seccomp is None:
        raise RuntimeError("libseccomp is not available")
    refuse = seccomp.ERRNO(errno.EPERM)
    rules = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
    for name in FORBIDDEN_SYSCALLS + ("fork", "vfork"):
        rules.add_rule(refuse, name)
    rules.add_rule(refuse, "clone", seccomp.Arg(0, seccomp.MASKED_EQ, CLONE_THREAD, 0))
    rules.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")
    own_pid = os.getpid()
    for name in SIGNAL_SYSCALLS:
        rules.add_rule(refuse, name, seccomp.Arg(0, seccomp.NE, own_pid))
    for name, index in TARGETED_SYSCALLS:
        for comparison in _other_than_self(index, own_pid):
            rules.add_rule(refuse, name, comparison)
    for name, kind in TARGET_KIND:
        rules.add_rule(refuse, name, seccomp.Arg(0, seccomp.NE, kind))
    for name, commands in (("fcntl", SIGNALLING_FCNTL), ("fcntl64", SIGNALLING_FCNTL), ("ioctl", SIGNALLING_IOCTL)):
        for command in commands:  # fcntl64 exists only on 32-bit systems: libseccomp drops it elsewhere
            rules.add_rule(refuse, name, seccomp.Arg(1, seccomp.MASKED_EQ, COMMAND_MASK, command))
    rules.load()


def _other_than_self(index: int, own_pid: int) -> list[Any]:
    """Comparisons that together match argument `index` unless it is 0 or `own_pid` (both: "me").

    A rule compares an argument once, and a rule may not allow what the filter allows anyway,
    so "anything else" is spelt as ranges: above `own_pid` (which also holds negative numbers
    and anything in the upper 32 bits), and 1 to `own_pid - 1` as aligned power-of-two blocks,
    at most two per bit of `own_pid`.
    """
    comparisons = [seccomp.Arg(index, seccomp.GT, own_pid)]
    low = 1
    while low < own_pid:
        size = low & -low  # the largest block aligned at `low`...
        while low + size > own_pid:
            size //= 2  # ...that stays below own_pid
        comparisons.append(seccomp.Arg(index, seccomp.MASKED_EQ, ARG_MASK & ~(size - 1), low))
        low += size
    return comparisons


def _mapped_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
