"""What bounds a whole sandbox on the host: its tasks, memory and CPU, with cgroups and without.

A submission may start threads, and raw `clone(CLONE_THREAD)` threads on one tiny shared stack
cost neither address space nor CPU: only a bound on the sandbox's tasks stops them from taking
the host's PIDs. Each test runs on a cgroup sandbox where this machine allows one and on the
RLIMIT_NPROC fallback (GRADELAB_WORKER_CGROUPS=off), two sandboxes each, the way a pool holds them.
"""

from __future__ import annotations

import os
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from submissions import GOOD_LINEAR

from grader.cgroup import SANDBOX_MAX_TASKS, SandboxCgroup, placements
from grader.grading import grade_submission
from grader.sandbox import SANDBOX_UID, Sandbox

HOLD_S = 3
THREAD_BOMB = textwrap.dedent(
    f"""\
    import ctypes, errno, time
    libc = ctypes.CDLL(None, use_errno=True)
    FLAGS = 0x100 | 0x200 | 0x400 | 0x800 | 0x10000 | 0x40000  # VM, FS, FILES, SIGHAND, THREAD, SYSVSEM
    stack = ctypes.create_string_buffer(1 << 16)  # one tiny stack shared by every thread
    top = (ctypes.addressof(stack) + (1 << 16) - 64) & ~15
    libc.clone.argtypes = (ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p)
    pause = ctypes.cast(libc.pause, ctypes.c_void_p)
    made, refused = 0, None
    for _ in range(1000):
        if libc.clone(pause, top, FLAGS, None) == -1:
            refused = errno.errorcode[ctypes.get_errno()]
            break
        made += 1
    print("made", made, "refused", refused, flush=True)
    time.sleep({HOLD_S})
    """
)
# Another student's correct file that uses a thread of its own, as it may.
GOOD_WITH_A_THREAD = "import threading\nhelper = threading.Thread(target=print)\nhelper.start()\nhelper.join()\n" + GOOD_LINEAR

MODES = ["cgroup", "no cgroup"]


def cgroups_here() -> bool:
    return "pids" in placements()


@pytest.fixture(scope="module", params=MODES)
def pair(request) -> Iterator[tuple[Sandbox, Sandbox]]:
    """Two warm sandboxes, bounded by a cgroup each or by the fallback."""
    if request.param == "cgroup" and not cgroups_here():
        pytest.skip("no writable pids cgroup for this grader here: the fallback test covers this machine")
    with pytest.MonkeyPatch.context() as patch:
        if request.param == "no cgroup":
            patch.setenv("GRADELAB_WORKER_CGROUPS", "off")
        first, second = Sandbox(), Sandbox()
    with first, second:
        first.wait_ready()
        second.wait_ready()
        yield first, second


def tasks_of(sandbox: Sandbox) -> int:
    """Threads of every process of the sandbox, as the host's kernel counts them."""
    count = 0
    for pid in sandbox.processes():
        try:
            count += len(os.listdir(f"/proc/{pid}/task"))
        except FileNotFoundError:
            pass  # ended meanwhile
    return count


def test_a_thread_bomb_stays_within_its_sandbox(pair, catalog):
    bombed, other = pair
    exercise = catalog["linear"]
    server_before = bombed.wait_ready()["pid"], bombed.processes()
    outcome: dict[str, object] = {}
    bomb = threading.Thread(target=lambda: outcome.update(report=grade_submission(exercise, THREAD_BOMB + GOOD_LINEAR, bombed)))
    bomb.start()
    most = 0
    while bomb.is_alive() and most < SANDBOX_MAX_TASKS - 8:
        most = max(most, tasks_of(bombed))
        time.sleep(0.005)
    neighbour = grade_submission(exercise, GOOD_WITH_A_THREAD, other)  # while the bomb holds its threads
    while bomb.is_alive():
        most = max(most, tasks_of(bombed))
        time.sleep(0.01)
    bomb.join()
    report = outcome["report"]
    made = report.stdout.split()
    assert made[0] == "made" and made[3] == "EAGAIN", report.stdout
    assert int(made[1]) < SANDBOX_MAX_TASKS
    # A cgroup counts bubblewrap too; RLIMIT_NPROC counts the sandbox's uid, not root's two bubblewraps.
    slack = 0 if bombed.bounds.tasks_by.startswith("cgroup") else 2
    assert SANDBOX_MAX_TASKS - 8 <= most <= SANDBOX_MAX_TASKS + slack
    if bombed.bounds.tasks_by.startswith("cgroup"):
        assert bombed._cgroup.task_limit_hits() >= 1
        assert bombed._cgroup.tasks() <= SANDBOX_MAX_TASKS
    assert neighbour.is_full_score, neighbour.message
    assert grade_submission(exercise, GOOD_WITH_A_THREAD, bombed).is_full_score
    assert grade_submission(exercise, GOOD_WITH_A_THREAD, other).is_full_score
    assert bombed.alive and (bombed.wait_ready()["pid"], bombed.processes()) == server_before


def test_each_sandbox_says_what_bounds_it(pair):
    first, second = pair
    root = os.geteuid() == 0
    for sandbox in pair:
        assert sandbox.bounds.max_tasks == SANDBOX_MAX_TASKS
        assert sandbox.bounds.scratch_inodes == (4096 if root else None)
    if first.bounds.tasks_by == "RLIMIT_NPROC":
        assert first.bounds.memory_mb is None and first.bounds.cpus is None
        if root:  # RLIMIT_NPROC counts per uid: one each, or one sandbox's bomb would starve the other
            assert len({first.bounds.uid, second.bounds.uid, SANDBOX_UID}) == 3
        else:
            assert first.bounds.uid == second.bounds.uid == os.geteuid()
        return
    assert first.bounds.tasks_by in ("cgroup v1", "cgroup v2")
    assert first.bounds.uid == second.bounds.uid == (SANDBOX_UID if root else os.geteuid())
    folders = first._cgroup.bound
    assert int((folders["pids"] / "pids.max").read_text()) == SANDBOX_MAX_TASKS
    if "memory" in folders:
        name = "memory.max" if first._cgroup.versions["memory"] == 2 else "memory.limit_in_bytes"
        assert int((folders["memory"] / name).read_text()) == first.bounds.memory_mb * 1024 * 1024
    if "cpu" in folders:  # one CPU: a quota of a whole period
        quota = (folders["cpu"] / "cpu.max").read_text().split()[0] if first._cgroup.versions["cpu"] == 2 else (folders["cpu"] / "cpu.cfs_quota_us").read_text()
        assert int(quota) == int(first.bounds.cpus * 100_000)
    for pid in first.processes():  # bubblewrap included: it entered before it ran
        cgroups = Path(f"/proc/{pid}/cgroup").read_text()
        assert all(folder.name in cgroups for folder in first._cgroup.joined)
        assert not any(folder.name in cgroups for folder in second._cgroup.joined)


@pytest.mark.skipif(not cgroups_here(), reason="no writable pids cgroup for this grader here")
def test_closing_a_sandbox_removes_its_cgroup_and_what_is_in_it():
    sandbox = Sandbox()
    sandbox.wait_ready()
    folders = sandbox._cgroup.joined
    assert all(folder.is_dir() for folder in folders)
    pids = sandbox.processes()
    sandbox.close()
    assert not any(folder.exists() for folder in folders)
    assert not [pid for pid in pids if Path(f"/proc/{pid}").exists() and "Z" not in Path(f"/proc/{pid}/stat").read_text().split()[2]]


def fake_proc(tmp_path: Path, mountinfo: list[str], cgroup: list[str]) -> Path:
    proc = tmp_path / "proc"
    proc.mkdir()
    (proc / "mountinfo").write_text("".join(line + "\n" for line in mountinfo))
    (proc / "cgroup").write_text("".join(line + "\n" for line in cgroup))
    return proc


def test_pure_cgroup_v2_gives_one_folder_with_every_bound(tmp_path):
    """A laptop or a container with cgroup v2 only, its controllers enabled for the grader's
    cgroup (a stand-in tree: this machine's own layout is what the tests above run on)."""
    root = tmp_path / "cgroup"
    parent = root / "grading.slice"
    parent.mkdir(parents=True)
    (parent / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    (parent / "cgroup.subtree_control").write_text("cpu memory pids\n")
    proc = fake_proc(tmp_path, [f"35 24 0:30 / {root} rw,nosuid - cgroup2 cgroup2 rw"], ["0::/grading.slice"])
    found = placements(proc)
    assert {name: (place.version, place.parent) for name, place in found.items()} == {name: (2, parent) for name in ("pids", "memory", "cpu")}
    cgroup = SandboxCgroup.create(found)
    (folder,) = cgroup.joined
    assert folder.parent == parent and cgroup.versions == {"pids": 2, "memory": 2, "cpu": 2}
    assert (folder / "pids.max").read_text() == str(SANDBOX_MAX_TASKS)
    assert int((folder / "memory.max").read_text()) == cgroup.memory_mb * 1024 * 1024
    assert (folder / "cpu.max").read_text() == "100000 100000"
    assert cgroup.entry_command()[-2:] == [str(folder / "cgroup.procs"), "--"]


def test_v1_hierarchies_with_joined_controllers_and_a_nested_own_cgroup(tmp_path):
    pids, cpu = tmp_path / "pids", tmp_path / "cpu,cpuacct"
    (pids / "grader").mkdir(parents=True)
    (cpu / "grader").mkdir(parents=True)
    mountinfo = [
        f"30 24 0:26 / {tmp_path / 'unified'} rw - cgroup2 cgroup2 rw",
        f"31 24 0:27 / {pids} rw - cgroup cgroup rw,pids",
        f"32 24 0:28 / {cpu} rw - cgroup cgroup rw,cpu,cpuacct",
    ]
    proc = fake_proc(tmp_path, mountinfo, ["3:pids:/grader", "2:cpu,cpuacct:/grader", "0::/"])
    found = placements(proc)  # no memory hierarchy and a v2 mount without controllers: pids and cpu in v1
    assert {name: (place.version, place.parent) for name, place in found.items()} == {"pids": (1, pids / "grader"), "cpu": (1, cpu / "grader")}


def test_without_a_pids_controller_there_is_no_sandbox_cgroup(tmp_path):
    memory = tmp_path / "memory"
    memory.mkdir()
    proc = fake_proc(tmp_path, [f"31 24 0:27 / {memory} rw - cgroup cgroup rw,memory"], ["4:memory:/"])
    found = placements(proc)
    assert set(found) == {"memory"}
    assert SandboxCgroup.create(found) is None
    assert list(memory.iterdir()) == []


@pytest.mark.skipif(not cgroups_here(), reason="no writable pids cgroup for this grader here")
def test_an_unsafe_sandbox_is_bounded_by_its_cgroup_too():
    """No sandbox around it (`--unsafe-no-sandbox`), but the same pids.max, as its own user."""
    with Sandbox(unsafe=True, warm_up=False) as sandbox:
        sandbox.wait_ready()
        assert sandbox.bounds.tasks_by in ("cgroup v1", "cgroup v2") and sandbox.bounds.uid == os.geteuid()
        assert sandbox.bounds.scratch_inodes is None  # its scratch is a host folder
        cgroups = Path(f"/proc/{sandbox.pid}/cgroup").read_text()
        assert all(folder.name in cgroups for folder in sandbox._cgroup.joined)
