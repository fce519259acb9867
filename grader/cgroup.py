"""A cgroup per sandbox: bounds on its tasks, its memory (kernel memory too) and its CPU.

RLIMIT_AS caps what a child maps, not what the kernel spends for it: threads on one tiny
shared stack, page tables, inodes, pipes. A cgroup counts all of it, for the fork server and
its child together, so one sandbox can never take the host's PIDs or memory from another.

Each sandbox's cgroup is made below the grader's own (so any limit set on the grader still
holds), in cgroup v2 where the controllers are enabled there, else in the v1 hierarchy of each
controller (hybrid machines). The sandbox's first process enters it before it runs anything
(`entry_command`), and closing the cgroup kills whatever is left in it. Where no cgroup can be
made (no permission, no controller, a v2 cgroup that holds processes), `create` returns None and
the sandbox falls back to RLIMIT_NPROC (`grader.confine.apply_limits`).
"""

from __future__ import annotations

import itertools
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

CONTROLLERS = ("pids", "memory", "cpu")
SANDBOX_MAX_TASKS = 128  # bubblewrap, the fork server and its few threads, the child and its threads
# The fork server with torch imported and warmed is about 310 MB resident (torch 2.13, CPU);
# its child may map `Limits.memory_mb` more (512 MB by default, 1 GB allowed for here); the rest is
# kernel memory: the 64 MB scratch tmpfs, page tables, pipes, inodes.
SANDBOX_RESIDENT_MB = 512
LARGEST_CHILD_MEMORY_MB = 1024
KERNEL_MARGIN_MB = 256
SANDBOX_MEMORY_MB = SANDBOX_RESIDENT_MB + LARGEST_CHILD_MEMORY_MB + KERNEL_MARGIN_MB
SANDBOX_CPUS = 1.0
CPU_PERIOD_US = 100_000
MEMORY_ENV = "GRADELAB_WORKER_MEMORY_MB"  # for exercises whose children need more
DISABLE_ENV = "GRADELAB_WORKER_CGROUPS"  # "off": use the RLIMIT_NPROC fallback even where cgroups work
REMOVE_TIMEOUT_S = 5.0

_names = itertools.count()


@dataclass(frozen=True)
class Placement:
    """Where one controller's sandbox cgroups go: a cgroup folder of the grader's own, and its version."""

    controller: str
    version: int  # 1 or 2
    parent: Path


def sandbox_memory_mb() -> int:
    return int(os.environ.get(MEMORY_ENV, SANDBOX_MEMORY_MB))


def placements(proc_self: Path = Path("/proc/self")) -> dict[str, Placement]:
    """For each controller this process may delegate, where a sandbox's cgroup for it goes."""
    if os.environ.get(DISABLE_ENV, "").lower() in ("0", "off", "no", "false"):
        return {}
    try:
        mounts = _cgroup_mounts(proc_self / "mountinfo")
        own = _own_cgroups(proc_self / "cgroup")
    except OSError:
        return {}
    found: dict[str, Placement] = {}
    v2_parent = _folder_of(mounts.get("cgroup2"), own.get(""))
    if v2_parent is not None:
        for controller in _enabled_v2_controllers(v2_parent):
            found[controller] = Placement(controller, 2, v2_parent)
    for controller in CONTROLLERS:
        if controller not in found and (parent := _folder_of(mounts.get(controller), own.get(controller))) is not None:
            if os.access(parent, os.W_OK):
                found[controller] = Placement(controller, 1, parent)
    return found


def _cgroup_mounts(path: Path) -> dict[str, tuple[str, str]]:
    """(mount point, root in the hierarchy) of the v2 mount ("cgroup2") and of each v1 controller."""
    mounts: dict[str, tuple[str, str]] = {}
    with open(path) as mountinfo:
        for line in mountinfo:
            fields = line.split()
            separator = fields.index("-")
            fstype, options = fields[separator + 1], fields[separator + 3].split(",")
            point = (_unescape(fields[4]), _unescape(fields[3]))
            if fstype == "cgroup2":
                mounts.setdefault("cgroup2", point)
            elif fstype == "cgroup":
                for controller in CONTROLLERS:
                    if controller in options:
                        mounts.setdefault(controller, point)
    return mounts


def _own_cgroups(path: Path) -> dict[str, str]:
    """This process's cgroup path per v1 controller, and its v2 path under the key ""."""
    paths: dict[str, str] = {}
    with open(path) as cgroups:
        for line in cgroups:
            _, controllers, path = line.rstrip("\n").split(":", 2)
            for controller in controllers.split(",") if controllers else [""]:
                paths[controller] = path
    return paths


def _folder_of(mount: tuple[str, str] | None, path: str | None) -> Path | None:
    """The folder of cgroup `path` under a mount of its hierarchy, if that mount shows it."""
    if mount is None or path is None:
        return None
    point, root = mount
    if root != "/" and path != root and not path.startswith(root.rstrip("/") + "/"):
        return None
    folder = Path(point) / path[len(root.rstrip("/")) :].lstrip("/")
    return folder if folder.is_dir() else None


def _enabled_v2_controllers(parent: Path) -> set[str]:
    """The controllers a v2 child of `parent` gets: enabled already, or enabled now if allowed.

    Enabling fails in a cgroup that holds processes (v2's "no internal processes" rule), which is
    where a grader usually runs: then only a prepared parent (systemd `Delegate=yes` with the
    grader in a leaf of it, or a container's root cgroup) gives v2 bounds.
    """
    try:
        available = set((parent / "cgroup.controllers").read_text().split()) & set(CONTROLLERS)
        enabled = set((parent / "cgroup.subtree_control").read_text().split())
        missing = available - enabled
        if missing:
            (parent / "cgroup.subtree_control").write_text(" ".join(f"+{name}" for name in sorted(missing)))
            enabled = set((parent / "cgroup.subtree_control").read_text().split())
    except OSError:
        return set()
    return available & enabled


def _unescape(field: str) -> str:
    """mountinfo writes space, tab, newline and backslash as octal escapes."""
    for code in ("040", "011", "012", "134"):
        field = field.replace("\\" + code, chr(int(code, 8)))
    return field


class SandboxCgroup:
    """The cgroup folders of one sandbox (one in v2, one per hierarchy in v1) and the bounds set in them."""

    def __init__(self, joined: list[Path], bound: dict[str, Path], versions: dict[str, int]) -> None:
        self.joined = joined  # every folder the sandbox enters
        self.bound = bound  # controller -> the folder whose limit for it is set
        self.versions = versions
        self.max_tasks = SANDBOX_MAX_TASKS if "pids" in bound else None
        self.memory_mb = sandbox_memory_mb() if "memory" in bound else None
        self.cpus = SANDBOX_CPUS if "cpu" in bound else None

    @classmethod
    def create(cls, found: dict[str, Placement] | None = None) -> SandboxCgroup | None:
        """A fresh cgroup with the sandbox limits, or None where its tasks cannot be bounded so."""
        found = placements() if found is None else found
        if "pids" not in found:
            return None
        name = f"gradelab-{os.getpid()}-{next(_names)}"
        joined: list[Path] = []
        try:
            for parent in sorted({placement.parent for placement in found.values()}):
                _remove_abandoned(parent)
                (parent / name).mkdir()
                joined.append(parent / name)
        except OSError:
            cls(joined, {}, {}).remove()
            return None
        bound: dict[str, Path] = {}
        for controller, placement in found.items():
            try:
                _LIMIT_WRITERS[(controller, placement.version)](placement.parent / name)
            except OSError:
                continue  # that bound is missing (a parent's own limit refuses it, say); the others hold
            bound[controller] = placement.parent / name
        if "pids" not in bound:
            cls(joined, {}, {}).remove()
            return None
        return cls(joined, bound, {controller: found[controller].version for controller in bound})

    def entry_command(self) -> list[str]:
        """A prefix that moves the sandbox's first process into this cgroup, then runs the rest.

        The shell writes its own pid and then execs bubblewrap (or the fork server) in place, so
        nothing of the sandbox ever runs outside the cgroup; preexec_fn would do the same from a
        forked copy of this threaded process, which is unsafe.
        """
        script = 'while [ "$1" != -- ]; do echo $$ > "$1" || exit 125; shift; done; shift; exec "$@"'
        return ["/bin/sh", "-c", script, "gradelab-cgroup", *(str(folder / "cgroup.procs") for folder in self.joined), "--"]

    def tasks(self) -> int:
        """How many tasks (threads included) the sandbox holds now."""
        return int((self.bound["pids"] / "pids.current").read_text())

    def task_limit_hits(self) -> int:
        """How often the sandbox was refused a task because it held `max_tasks` (v1 and v2 alike)."""
        events = self.bound["pids"] / "pids.events"
        if not events.exists():
            return 0
        return int(dict(line.split() for line in events.read_text().splitlines()).get("max", 0))

    def remove(self) -> None:
        """Kill what is left in the cgroup, then remove it; a folder that will not go is left."""
        deadline = time.monotonic() + REMOVE_TIMEOUT_S
        for folder in self.joined:
            _remove_cgroup(folder, deadline)


def _remove_cgroup(folder: Path, deadline: float) -> None:
    while not _removed(folder) and time.monotonic() < deadline:
        _kill_all(folder)
        time.sleep(0.01)


def _remove_abandoned(parent: Path) -> None:
    """Empty sandbox cgroups of graders that died without removing them (a SIGKILL). Only empty
    ones: a live grader in another PID namespace would look dead from here."""
    for folder in parent.glob("gradelab-*-*"):
        owner = folder.name.split("-")[1]
        if owner.isdigit() and not Path(f"/proc/{owner}").exists():
            _removed(folder)


def _write_pids_limit(folder: Path) -> None:
    (folder / "pids.max").write_text(str(SANDBOX_MAX_TASKS))


def _write_memory_limit_v2(folder: Path) -> None:
    (folder / "memory.max").write_text(str(sandbox_memory_mb() * 1024 * 1024))
    if (folder / "memory.swap.max").exists():
        (folder / "memory.swap.max").write_text("0")


def _write_memory_limit_v1(folder: Path) -> None:
    # Kernel memory (slab: inodes, dentries; page tables, kernel stacks) is charged to this
    # counter as well, wherever the kernel accounts kmem (every kernel since 4.6 unless booted with
    # cgroup.memory=nokmem).
    limit = str(sandbox_memory_mb() * 1024 * 1024)
    (folder / "memory.limit_in_bytes").write_text(limit)
    if (folder / "memory.memsw.limit_in_bytes").exists():  # memory plus swap: no way around the limit by swapping
        (folder / "memory.memsw.limit_in_bytes").write_text(limit)


def _write_cpu_limit_v2(folder: Path) -> None:
    (folder / "cpu.max").write_text(f"{int(SANDBOX_CPUS * CPU_PERIOD_US)} {CPU_PERIOD_US}")


def _write_cpu_limit_v1(folder: Path) -> None:
    (folder / "cpu.cfs_period_us").write_text(str(CPU_PERIOD_US))
    (folder / "cpu.cfs_quota_us").write_text(str(int(SANDBOX_CPUS * CPU_PERIOD_US)))


_LIMIT_WRITERS = {
    ("pids", 1): _write_pids_limit,
    ("pids", 2): _write_pids_limit,
    ("memory", 1): _write_memory_limit_v1,
    ("memory", 2): _write_memory_limit_v2,
    ("cpu", 1): _write_cpu_limit_v1,
    ("cpu", 2): _write_cpu_limit_v2,
}


def _kill_all(folder: Path) -> None:
    if (folder / "cgroup.kill").exists():  # v2, Linux 5.14+: atomic, even against a fork race
        try:
            (folder / "cgroup.kill").write_text("1")
            return
        except OSError:
            pass
    try:
        pids = (folder / "cgroup.procs").read_text().split()
    except OSError:
        return
    for pid in pids:
        try:
            os.kill(int(pid), signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def _removed(folder: Path) -> bool:
    try:
        folder.rmdir()
    except FileNotFoundError:
        return True
    except OSError:
        return False  # still busy: its last tasks are exiting
    return True
