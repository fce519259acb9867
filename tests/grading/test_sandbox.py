"""The sandbox itself: what its children see, what they keep, how it ends."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import msgspec
import pytest
from submissions import GOOD_LINEAR

from grader.grading import build_jobs, grade_submission
from grader.sandbox import (
    GRADER_DIR,
    Sandbox,
    bwrap_arguments,
    parse_frame,
    python_roots,
)
from grader.spec import Limits

ROOT = Path(__file__).resolve().parents[2]


def run_source(sandbox: Sandbox, catalog, source: str):
    return sandbox.run(build_jobs(catalog["linear"], source)[:1], catalog["linear"].limits)


def loaded(run) -> bool:
    """Whether the run's first trace says the file loaded (a frame leaves `load` out when it did)."""
    return "load" not in msgspec.msgpack.decode(run.traces[0])


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox() as one:
        yield one


def test_frame_needs_the_nonce_and_the_right_length():
    assert parse_frame(b"junk printed first\nabc 2\n{}", "abc") == b"{}"
    assert parse_frame(b"\nxyz 2\n{}", "abc") is None  # another run's nonce
    assert parse_frame(b"\nabc 9\n{}", "abc") is None  # cut short
    assert parse_frame(b"\nabc 2\n{}\nabc 2\n[]", "abc") == b"{}"  # the first frame of a nonce decides


def test_the_sandbox_view_holds_only_the_runtime(sandbox, catalog):
    probe = textwrap.dedent(
        """\
        import os
        print("uid", os.getuid(), "pid", os.getpid())
        print("root", sorted(os.listdir("/")))
        print("tmp", os.listdir("/tmp"))
        print("exercises", os.path.exists(%r))
        print("usr", sorted(os.listdir("/usr")))
        print("usrbin", sorted(os.listdir("/usr/bin")) if os.path.isdir("/usr/bin") else [])
        """
        % str(ROOT / "exercises")
    )
    run = run_source(sandbox, catalog, probe + GOOD_LINEAR)
    lines = dict(line.split(" ", 1) for line in run.stdout.splitlines() if " " in line)
    assert run.status == "finished" and loaded(run)
    expected_uid = sandbox.bounds.uid  # 65534 as root (one uid per sandbox without cgroups), else the grader's own
    assert lines["uid"].split()[0] == str(expected_uid)
    assert int(lines["uid"].split()[2]) < 10  # its own PID namespace: the host's pids are out of sight
    assert lines["exercises"] == "False"
    top = set(eval(lines["root"]))  # a printed list of names
    runtime_tops = {Path(root).parts[1] for root in python_roots()}  # where Python and the venv live: /root, /check...
    grader_top = GRADER_DIR.parts[1]  # the grader's sandbox side, at its own path (/work, /root...)
    assert top <= {"bin", "dev", "etc", "lib", "lib32", "lib64", "libx32", "proc", "sbin", "tmp", "usr", grader_top} | runtime_tops
    assert "var" not in top and "sys" not in top
    assert set(eval(lines["usr"])) <= {"bin", "lib", "lib32", "lib64", "libx32", "sbin"}  # no share, include, local
    assert set(eval(lines["usrbin"])) <= {"setpriv", Path(os.path.realpath(sys.executable)).name}


def runtime_under_tmp() -> list[str]:
    """What a fresh /tmp holds: the folders that lead to a runtime mounted below it, if any."""
    return sorted({Path(root).relative_to("/tmp").parts[0] for root in python_roots() if root.startswith("/tmp/")})


def test_files_left_by_one_submission_are_gone_for_the_next(catalog):
    listing = "import os\nprint(sorted(os.listdir('/tmp')))\n"
    write = "open('/tmp/left-behind', 'w').write('secret')\nos.makedirs('/tmp/locked/deeper')\nos.chmod('/tmp/locked', 0)\n"
    with Sandbox() as fresh:  # its first child sees what the fork server's own start left (torch's warm-up)
        first = run_source(fresh, catalog, listing + write + listing + GOOD_LINEAR)
        assert first.status == "finished" and loaded(first)
        before, during = first.stdout.splitlines()[:2]
        assert "left-behind" in during
        second = run_source(fresh, catalog, listing + GOOD_LINEAR)
    assert second.stdout.splitlines()[0] == before
    assert before == repr(runtime_under_tmp())


def test_an_inode_bomb_meets_the_inode_limit_and_the_next_submission_is_fine(sandbox, catalog):
    """Empty files cost no bytes of the tmpfs size, only kernel memory (~1.3 KB each) and cleanup time."""
    bomb = textwrap.dedent(
        """\
        made, refused = 0, None
        try:
            while made < 200_000:
                open(f"/tmp/{made}", "w").close()
                made += 1
        except OSError as error:
            refused = error.errno
        print("made", made, "refused", refused)
        """
    )
    run = run_source(sandbox, catalog, bomb + GOOD_LINEAR)
    words = run.stdout.split()
    assert run.status == "finished" and words[0] == "made", run.stdout
    if sandbox.bounds.scratch_inodes is not None:  # as root; in a user namespace only a memory cgroup bounds it
        assert int(words[1]) < sandbox.bounds.scratch_inodes and words[3] == str(errno.ENOSPC)
    assert sandbox.alive
    after = run_source(sandbox, catalog, "import os\nprint(sorted(os.listdir('/tmp')))\n" + GOOD_LINEAR)
    assert after.stdout.splitlines()[0] == repr(runtime_under_tmp())
    assert grade_submission(catalog["linear"], GOOD_LINEAR, sandbox).is_full_score


def test_a_tree_3000_folders_deep_is_removed_and_the_sandbox_survives(sandbox, catalog):
    tree = textwrap.dedent(
        """\
        import os
        for _ in range(3000):
            os.mkdir("d")
            os.chdir("d")
        open("bottom", "w").write("x")
        os.chmod("..", 0o500)  # kept from writing
        os.chmod(".", 0)  # and unreadable: cleanup restores the rights it needs
        os.chdir("/tmp")
        print("deep")
        """
    )
    server = sandbox.wait_ready()["pid"], sandbox.processes()
    run = run_source(sandbox, catalog, tree + GOOD_LINEAR)
    assert run.status == "finished" and run.stdout.startswith("deep"), run.stdout
    assert sandbox.alive
    after = run_source(sandbox, catalog, "import os\nprint(sorted(os.listdir('/tmp')))\n" + GOOD_LINEAR)
    assert after.stdout.splitlines()[0] == repr(runtime_under_tmp())
    assert grade_submission(catalog["linear"], GOOD_LINEAR, sandbox).is_full_score
    assert (sandbox.wait_ready()["pid"], sandbox.processes()) == server  # the same fork server, no replacement


def test_state_of_one_submission_does_not_reach_the_next(sandbox, catalog):
    patch = "import torch\ntorch.manual_seed = None\ntorch.tensor = lambda *a, **k: 1 / 0\n"
    run_source(sandbox, catalog, patch + "w = 1\n")
    report = grade_submission(catalog["linear"], GOOD_LINEAR, sandbox)
    assert report.is_full_score


def test_the_sandbox_dies_with_the_grader(tmp_path):
    script = textwrap.dedent(
        f"""\
        import sys, time
        sys.path.insert(0, {str(ROOT)!r})
        from grader.sandbox import Sandbox
        sandbox = Sandbox()
        sandbox.wait_ready()
        print(*sandbox.processes(), flush=True)
        time.sleep(600)
        """
    )
    grader = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        sandbox = {int(pid) for pid in grader.stdout.readline().split()}
        assert len(sandbox) >= 2  # bubblewrap and the fork server at least
    finally:
        grader.send_signal(signal.SIGKILL)
        grader.wait()
        grader.stdout.close()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(Path(f"/proc/{pid}").exists() for pid in sandbox):
        time.sleep(0.05)
    assert not [pid for pid in sandbox if Path(f"/proc/{pid}").exists() and "Z" not in Path(f"/proc/{pid}/stat").read_text().split()[2]]


def test_a_sandbox_that_cannot_start_says_why(monkeypatch):
    monkeypatch.setattr("grader.sandbox.sandbox_problem", lambda: None)  # past the up-front check (and its cache)
    monkeypatch.setattr("grader.sandbox.GRADER_DIR", Path("/nonexistent"))
    from grader.sandbox import SandboxError

    with pytest.raises(SandboxError, match="did not start"):
        Sandbox().wait_ready(timeout_s=30)


def test_unsafe_mode_grades_without_bubblewrap(catalog):
    with Sandbox(unsafe=True) as sandbox:
        assert "bwrap" not in Path(f"/proc/{sandbox.pid}/cmdline").read_bytes().decode()
        report = grade_submission(catalog["linear"], GOOD_LINEAR, sandbox)
    assert report.is_full_score


def test_bwrap_shares_no_namespace_with_the_host():
    arguments = bwrap_arguments()
    for namespace in ("--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts"):
        assert namespace in arguments
    assert "--die-with-parent" in arguments and "--clearenv" in arguments
    assert "--share-net" not in arguments
    bound = {arguments[i + 1] for i, a in enumerate(arguments) if a in ("--ro-bind", "--bind")}
    assert not any(str(ROOT / "exercises") == path or path == str(ROOT) for path in bound)
    assert "--bind" not in arguments  # nothing of the host is writable


def test_sandbox_limits_reach_the_child(sandbox, catalog):
    probe = "import resource\nprint(resource.getrlimit(resource.RLIMIT_NOFILE), resource.getrlimit(resource.RLIMIT_FSIZE))\n"
    limits = Limits(open_files=32, max_file_bytes=4096)
    run = sandbox.run(build_jobs(catalog["linear"], probe + GOOD_LINEAR)[:1], limits)
    assert run.stdout.splitlines()[0] == "(32, 32) (4096, 4096)"


def test_reply_reports_the_childs_cpu_time(sandbox, catalog):
    run = run_source(sandbox, catalog, "x = sum(range(3_000_000))\n" + GOOD_LINEAR)
    assert run.status == "finished"
    assert run.cpu_s is not None and 0 < run.cpu_s < 10
    assert all(isinstance(trace, bytes) for trace in run.traces)  # frame bodies, decoded on the trusted side


def smaps_rollup_kb(pid: int) -> dict[str, int]:
    lines = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]
    return {line.split(":")[0]: int(line.split()[1]) for line in lines if line.endswith("kB")}


def huge_pages_offered() -> bool:
    setting = Path("/sys/kernel/mm/transparent_hugepage/enabled")
    return setting.exists() and "[never]" not in setting.read_text()


@pytest.mark.skipif(not huge_pages_offered(), reason="this kernel offers no transparent huge pages")
def test_a_warm_sandbox_holds_its_heap_on_huge_pages(sandbox, catalog):
    """What makes a fork cheap: the fork server's private memory on 2 MB pages, still after children ran."""
    for _ in range(3):
        assert run_source(sandbox, catalog, GOOD_LINEAR).status == "finished"
    server = max(sandbox.processes(), key=lambda pid: smaps_rollup_kb(pid)["Anonymous"])
    memory = smaps_rollup_kb(server)
    assert memory["AnonHugePages"] > 0.5 * memory["Anonymous"], memory


def test_emptying_the_scratch_folder_keeps_mounted_runtime(tmp_path):
    from grader.forkserver import empty_scratch

    runtime = tmp_path / "clone" / ".venv"
    (runtime / "lib").mkdir(parents=True)
    (runtime / "lib" / "torch.py").write_text("kept")
    (tmp_path / "clone" / "left.txt").write_text("student")
    (tmp_path / "deep" / "er").mkdir(parents=True)
    (tmp_path / "deep" / "er" / "file").write_text("student")
    (tmp_path / "link").symlink_to(runtime)
    (tmp_path / "deep").chmod(0)
    empty_scratch(str(tmp_path), frozenset({str(runtime)}))
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == ["clone", "clone/.venv", "clone/.venv/lib", "clone/.venv/lib/torch.py"]


def test_emptying_the_scratch_folder_needs_no_recursion_nor_paths(tmp_path):
    """Deeper than Python's recursion limit and than PATH_MAX; a link out of it is not followed."""
    from grader.forkserver import empty_scratch

    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "kept").write_text("not the child's")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    folder = os.open(scratch, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for depth in range(5000):
            os.mkdir("d", dir_fd=folder)
            if depth == 2500:
                os.symlink(outside, "out", dir_fd=folder)
                os.mkdir("shut", mode=0, dir_fd=folder)
            inner = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=folder)
            os.close(folder)
            folder = inner
        os.close(folder)
        empty_scratch(str(scratch), frozenset())
        assert list(scratch.iterdir()) == []
        assert (outside / "kept").read_text() == "not the child's"
    finally:  # whatever is left would break pytest's own (recursive) removal of old temporary folders
        subprocess.run(["chmod", "-R", "u+rwx", str(scratch)], check=False)
        subprocess.run(["rm", "-rf", str(scratch)], check=True)


def test_a_virtual_environment_reached_through_a_symlink_still_runs_the_sandbox(tmp_path):
    """A venv behind a symlink (a linked checkout, a worktree): bubblewrap mounts the runtime at its
    real path, so the interpreter must be named by that path too."""
    linked = tmp_path / "venv"
    linked.symlink_to(sys.prefix)
    script = "from grader.sandbox import Sandbox\nwith Sandbox(warm_up=False) as sandbox:\n    print(sandbox.wait_ready()['ready'])\n"
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run([str(linked / "bin" / "python"), "-c", script], capture_output=True, text=True, env=environment, timeout=120)
    assert run.returncode == 0 and run.stdout.strip() == "True", run.stderr[-2000:]
