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

# Syscalls that no exercise needs, grouped by what refusing them protects.
FORBIDDEN_SYSCALLS = (
    # the warm worker and the grader: no tracing or reading another process's memory
    "ptrace", "process_vm_readv", "process_vm_writev", "kcmp",
    "pidfd_open", "pidfd_send_signal", "pidfd_getfd",
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


def seccomp_available() -> bool:
    return seccomp is not None


def apply_limits(limits: dict[str, Any]) -> None:
    """Resource limits for this child only; the warm worker keeps its own.

    Memory is capped as address space on top of what the warm worker already maps (torch alone
    maps far more than it touches), so the limit means "this much more than an empty run".
    Where no cgroup bounds the worker's tasks, the sandbox sets GRADELAB_SANDBOX_MAX_TASKS: the
    tasks its uid may hold (threads too: on a tiny shared stack they cost no address space).
    """
    address_space = _mapped_bytes() + int(limits["memory_mb"]) * 1024 * 1024
    if (max_tasks := os.environ.get("GRADELAB_SANDBOX_MAX_TASKS")) is not None:
        resource.setrlimit(resource.RLIMIT_NPROC, (int(max_tasks), int(max_tasks)))
    cpu_s = math.ceil(limits["cpu_s"])
    resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 1))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits["max_file_bytes"], limits["max_file_bytes"]))
    resource.setrlimit(resource.RLIMIT_NOFILE, (limits["open_files"], limits["open_files"]))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def install_seccomp() -> None:
    """No new processes or programs, signals only to itself, and none of FORBIDDEN_SYSCALLS.

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
    rules.load()


def _mapped_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
