"""The sandbox as most deployments run it: a grader that is not root.

As root, the sandbox drops to uid 65534 inside bubblewrap; as anyone else, bubblewrap builds a
user namespace instead, where the sandbox's user owns its own mounts. Two holes once existed
only there, so when the suite runs as root, this test runs the sandbox tests again as `nobody`.
The Python installation may sit under a folder `nobody` cannot enter (pyenv's /root): a
private mount namespace lays a world-readable tmpfs over such a folder and binds the needed
trees back in, at their own paths.
"""

from __future__ import annotations

import os
import shlex
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SANDBOX_TESTS = ["tests/grading/test_sandbox.py", "tests/grading/test_hostile.py", "tests/grading/test_pool.py", "tests/grading/test_sandbox_bounds.py"]

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="not root: the whole suite already runs the sandbox unprivileged")


def closed_folder(path: Path) -> Path | None:
    """The outermost ancestor of `path` that others cannot enter, if any."""
    for folder in reversed(path.parents):
        if not folder.stat().st_mode & stat.S_IXOTH:
            return folder
    return None


def reopening_script(paths: list[Path], stages: Path) -> list[str]:
    """Shell lines that make each path reachable again past a closed ancestor."""
    lines = []
    for index, path in enumerate(paths):
        closed = closed_folder(path)
        if closed is None:
            continue
        stage = shlex.quote(str(stages / f"stage-{index}"))
        lines += [f"mkdir -p {stage}", f"mount --bind {shlex.quote(str(path))} {stage}"]
        lines += [f"mountpoint -q {shlex.quote(str(closed))} || mount -t tmpfs -o mode=755 gradelab {shlex.quote(str(closed))}"]
        lines += [f"mkdir -p {shlex.quote(str(path))}", f"mount --bind {stage} {shlex.quote(str(path))}"]
    return lines


@pytest.mark.slow
def test_sandbox_tests_pass_for_an_unprivileged_grader():
    if shutil.which("unshare") is None or shutil.which("setpriv") is None:
        pytest.fail("util-linux (unshare, setpriv) is needed to run the grader as nobody")
    runtime = [Path(os.path.realpath(p)) for p in {sys.base_prefix, sys.prefix}] + [ROOT]
    home = Path(tempfile.mkdtemp(prefix="gradelab-nobody-"))
    home.chmod(0o777)
    try:
        environment = f"HOME={home} GRADELAB_CACHE_DIR={home}/cache PYTHONDONTWRITEBYTECODE=1"
        pytest_command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "2", *SANDBOX_TESTS]
        script = reopening_script(runtime, home) + [
            f"cd {shlex.quote(str(ROOT))}",
            f"exec setpriv --reuid=65534 --regid=65534 --clear-groups env {environment} {shlex.join(pytest_command)}",
        ]
        result = subprocess.run(
            ["unshare", "--mount", "--propagation", "private", "sh", "-ec", "\n".join(script)],
            capture_output=True,
            text=True,
            timeout=600,
        )
    finally:
        shutil.rmtree(home, ignore_errors=True)
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else result.stderr[-2000:]
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in summary and "failed" not in summary and "error" not in summary, summary
