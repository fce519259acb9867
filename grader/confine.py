"""Narrows what the child that runs one submission may do, just before the submission runs.

Runs in the sandbox, in the child that the fork server (`grader.forkserver`) forks for one
submission.
The namespaces around it (`grader.sandbox`) already hide the host; this adds what namespaces
cannot: resource limits for this one child, and seccomp filters that keep it from touching
the warm sandbox it was forked from (no signal, trace or change to any process but itself) or
leaving anything behind for the next submission.

Standard library only, plus `pyseccomp` (ctypes over libseccomp), which the fork server imports
before it forks so the child never pays for it.
"""

from __future__ import annotations

import ctypes
import errno
import functools
import math
import os
import resource
import sys
from typing import Any

try:
    import pyseccomp as seccomp
except (ImportError, OSError, RuntimeError):  # no libseccomp: only the unsafe mode may run without it
    seccomp = None

CLONE_THREAD = 0x00010000
COMMAND_MASK = 0xFFFF_FFFF  # the kernel reads fcntl's and ioctl's command as an unsigned int: compare what it reads
PRIO_PROCESS = 0
IOPRIO_WHO_PROCESS = 1
SELF = "self"  # an argument that names a process: 0 or this child's own pid

# Syscalls that no exercise needs, grouped by what refusing them protects.
FORBIDDEN_SYSCALLS = (
    # the warm sandbox and the grader: no tracing or reading another process's memory
    "ptrace", "process_vm_readv", "process_vm_writev", "kcmp",
    "pidfd_open", "pidfd_send_signal", "pidfd_getfd",
    # the warm sandbox: nothing that moves or reclaims another process's memory
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
# child's uid, and what is set on it, every later child inherits. What each argument may be:
# SELF, or the one kind of target that is a single process (not a group, not a user).
TARGETED_SYSCALLS = {
    "prlimit64": {0: SELF},
    "sched_setaffinity": {0: SELF},
    "sched_setscheduler": {0: SELF},
    "sched_setparam": {0: SELF},
    "sched_setattr": {0: SELF},
    "setpriority": {0: PRIO_PROCESS, 1: SELF},
    "ioprio_set": {0: IOPRIO_WHO_PROCESS, 1: SELF},
    "setpgid": {0: SELF, 1: SELF},
}
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
    """Resource limits for this child only; the warm sandbox keeps its own.

    Memory is capped as address space on top of what the warm sandbox already maps (torch alone
    maps far more than it touches), so the limit means "this much more than an empty run".
    Where no cgroup bounds the sandbox's tasks, the sandbox sets GRADELAB_SANDBOX_MAX_TASKS: the
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
    for name, commands in (("fcntl", SIGNALLING_FCNTL), ("fcntl64", SIGNALLING_FCNTL), ("ioctl", SIGNALLING_IOCTL)):
        for command in commands:  # fcntl64 exists only on 32-bit systems: libseccomp drops it elsewhere
            rules.add_rule(refuse, name, seccomp.Arg(1, seccomp.MASKED_EQ, COMMAND_MASK, command))
    rules.load()  # also sets no_new_privs, which the second filter needs
    arch, numbers = _targeted_numbers()
    _load_program(only_self_program(own_pid, arch, numbers))


# Classic BPF, for the second filter: "0 or own pid" is two exact comparisons there, where
# libseccomp (one comparison per argument and rule, no rule that allows what its default
# allows) needs dozens of range rules, which cost the child ~10 ms to build.
BPF_LOAD_WORD, BPF_JUMP_IF_EQUAL, BPF_RETURN = 0x20, 0x15, 0x06
ARCH_OFFSET, ARGS_OFFSET = 4, 16  # in struct seccomp_data; the syscall number is at 0
SECCOMP_RET_ALLOW, SECCOMP_RET_ERRNO = 0x7FFF_0000, 0x0005_0000
PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 22, 2
Instruction = tuple[int, int, int, int]  # code, jump if true, jump if false, constant


def only_self_program(own_pid: int, arch: int, numbers: dict[str, int]) -> list[Instruction]:
    """A seccomp program that fails the calls of TARGETED_SYSCALLS with EPERM unless every
    argument it names is what TARGETED_SYSCALLS allows, compared as whole 64-bit registers;
    every other call, and every call of another architecture, it leaves to the main filter."""
    allow, refuse = (BPF_RETURN, 0, 0, SECCOMP_RET_ALLOW), (BPF_RETURN, 0, 0, SECCOMP_RET_ERRNO | errno.EPERM)
    program: list[Instruction] = [(BPF_LOAD_WORD, 0, 0, ARCH_OFFSET), (BPF_JUMP_IF_EQUAL, 1, 0, arch), allow, (BPF_LOAD_WORD, 0, 0, 0)]
    for name, allowed in TARGETED_SYSCALLS.items():
        body: list[Instruction] = []
        for index, value in allowed.items():
            body += _argument_check(index, (0, own_pid) if value == SELF else (value,))
        body += [allow, refuse]
        program += [(BPF_JUMP_IF_EQUAL, 0, len(body), numbers[name]), *body]  # not this call: on to the next
    return program + [allow]


def _argument_check(index: int, values: tuple[int, ...]) -> list[Instruction]:
    """Instructions that fall through when argument `index` is one of `values`, and otherwise
    jump to the refusal that ends the body (marked -1: `_resolved` counts the distance)."""
    low, high = (ARGS_OFFSET + 8 * index, ARGS_OFFSET + 8 * index + 4)[:: 1 if sys.byteorder == "little" else -1]
    check: list[Instruction] = [(BPF_LOAD_WORD, 0, 0, high), (BPF_JUMP_IF_EQUAL, 0, -1, 0), (BPF_LOAD_WORD, 0, 0, low)]
    for position, value in enumerate(values):
        left = len(values) - position - 1
        check.append((BPF_JUMP_IF_EQUAL, left, 0 if left else -1, value))  # equal: past the other values
    return check


@functools.cache
def _targeted_numbers() -> tuple[int, dict[str, int]]:
    """This machine's architecture and the numbers of TARGETED_SYSCALLS (looked up once, in the
    fork server: `warm_up` calls it before the first fork)."""
    arch = seccomp.system_arch()
    return arch, {name: seccomp.resolve_syscall(arch, name) for name in TARGETED_SYSCALLS}


def warm_up() -> None:
    """What install_seccomp can look up before the fork, so that no child pays for it."""
    if seccomp is not None:
        _targeted_numbers()
        _libc()


@functools.cache
def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _load_program(program: list[Instruction]) -> None:
    """Resolve each jump to the body's refusal (-1), then load the program as a second filter."""
    resolved = _resolved(program)
    filters = (_SockFilter * len(resolved))(*(_SockFilter(*instruction) for instruction in resolved))
    libc = _libc()
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(_SockFprog(len(resolved), filters)), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "cannot load the seccomp program")


def _resolved(program: list[Instruction]) -> list[Instruction]:
    """Jumps marked -1 go to the next `refuse` return, counted from the instruction after them."""
    refusal = (BPF_RETURN, 0, 0, SECCOMP_RET_ERRNO | errno.EPERM)
    resolved = []
    for at, (code, true, false, constant) in enumerate(program):
        if -1 in (true, false):
            distance = program.index(refusal, at) - at - 1
            true, false = (distance if true == -1 else true), (distance if false == -1 else false)
        resolved.append((code, true, false, constant))
    return resolved


class _SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte), ("k", ctypes.c_uint32)]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_SockFilter))]


def _mapped_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
