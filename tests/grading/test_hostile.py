"""Hostile submissions: each ends in its outcome with a clear message, and nothing else changes.

After every one of them the same pool grades a correct submission normally, without having had
to replace a sandbox unless the test says so.
"""

from __future__ import annotations

import os
import signal
import socket
import textwrap
import time
from dataclasses import replace
from pathlib import Path

import pytest
from submissions import GOOD_LINEAR

from grader.grading import grade_submission
from grader.sandbox import GRADER_DIR, Sandbox

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def quick(catalog):
    """`linear` with short time limits, so that endless loops end fast."""
    exercise = catalog["linear"]
    return replace(exercise, limits=replace(exercise.limits, timeout_s=3.0, cpu_s=2.0))


@pytest.fixture
def still_grades(grade, pool):
    """Checks, after the hostile submission, that the pool grades the next one normally."""
    replaced_before = pool.replaced

    def check(sandboxes_lost: int = 0) -> None:
        report = grade("linear", GOOD_LINEAR)
        assert report.is_full_score, report.message
        assert pool.replaced - replaced_before == sandboxes_lost

    return check


def test_endless_loop_at_import_hits_the_cpu_limit(quick, pool, still_grades):
    exercise = replace(quick, limits=replace(quick.limits, timeout_s=30.0))
    report = grade_submission(exercise, "while True:\n    pass\n" + GOOD_LINEAR, pool)
    assert report.outcome == "timeout"
    assert "more than 2 s of CPU time" in report.message
    still_grades()


def test_endless_loop_in_forward_times_out(quick, pool, still_grades):
    report = grade_submission(quick, GOOD_LINEAR.replace("return x * w", "while True:\n        pass"), pool)
    assert report.outcome == "timeout"
    assert all(not check.passed for check in report.checks)
    still_grades()


def test_sleeping_forever_hits_the_wall_clock(quick, pool, still_grades):
    report = grade_submission(quick, "import time\ntime.sleep(3600)\n" + GOOD_LINEAR, pool)
    assert report.outcome == "timeout"
    assert "did not finish within 3 s" in report.message
    still_grades()


@pytest.mark.parametrize(
    "bomb",
    ["hog = bytearray(8 * 1024 ** 3)\n", "import torch\nhog = torch.ones(2 * 1024 ** 3)\n", "hog = []\nwhile True:\n    hog.append(' ' * 10 ** 7)\n"],
    ids=["bytearray", "torch", "growing-list"],
)
def test_memory_bomb_hits_the_memory_limit(grade, still_grades, bomb):
    report = grade("linear", bomb + GOOD_LINEAR)
    assert report.outcome == "memory_limit"
    assert "ran out of memory" in report.message and "512 MB" in report.message
    still_grades()


def test_memory_bomb_inside_a_step_is_a_memory_limit(grade, still_grades):
    report = grade("linear", GOOD_LINEAR.replace("return x * w", "return x * w + torch.zeros(10 ** 10).sum()"))
    assert report.outcome == "memory_limit"
    still_grades()


@pytest.mark.parametrize(
    "bomb",
    [
        "import os\nwhile True:\n    os.fork()\n",
        "import subprocess\nsubprocess.Popen(['sleep', '1000'])\n",
        "import multiprocessing\nmultiprocessing.Process(target=print).start()\n",
    ],
    ids=["fork", "subprocess", "multiprocessing"],
)
def test_fork_bomb_is_contained(catalog, bomb):
    with Sandbox() as sandbox:
        sandbox.wait_ready()
        before = sandbox.processes()
        report = grade_submission(catalog["linear"], bomb + GOOD_LINEAR, sandbox)
        assert report.outcome == "forbidden"
        assert "may not start processes" in report.message
        assert sandbox.processes() == before  # bubblewrap and the fork server, nothing more
        assert sandbox.alive
        assert grade_submission(catalog["linear"], GOOD_LINEAR, sandbox).is_full_score


def test_500_mb_of_output_is_cut_at_the_limit(grade, still_grades):
    report = grade("linear", "import sys\nfor _ in range(500):\n    sys.stdout.write('x' * 1024 * 1024)\n" + GOOD_LINEAR)
    assert report.outcome == "output_limit"
    assert report.stdout_truncated and len(report.stdout) == 64 * 1024
    assert "printed more than 64 KB" in report.message
    still_grades()


def test_writing_outside_the_sandbox_leaves_nothing_on_the_host(grade, still_grades, tmp_path):
    targets = [tmp_path / "escaped.txt", ROOT / "exercises" / "linear" / "escaped.py", Path("/tmp/gradelab-escaped.txt")]
    attempts = "".join(
        f"try:\n    open({str(target)!r}, 'w').write('pwned')\n    print('wrote', {str(target)!r})\nexcept OSError as error:\n    print('refused', type(error).__name__)\n"
        for target in targets
    )
    report = grade("linear", attempts + GOOD_LINEAR)
    assert report.is_full_score  # the file it wrote in its own /tmp harms no one
    for target in targets:
        assert not target.exists()
    assert report.stdout.count("refused") == 2  # /tmp is its own, private and emptied afterwards
    still_grades()


@pytest.mark.parametrize("folder", [str(GRADER_DIR), "/etc", "/dev/shm", "/"])
def test_only_tmp_takes_a_write(grade, still_grades, folder):
    report = grade("linear", f"open({folder + '/kept'!r}, 'w').write('x')\n" + GOOD_LINEAR)
    assert report.outcome == "forbidden"
    assert "Read-only file system" in report.message or "Permission denied" in report.message
    still_grades()


def test_writing_into_the_runtime_is_forbidden(grade, still_grades):
    import torch

    report = grade("linear", f"open({str(Path(torch.__file__).parent / 'evil.py')!r}, 'w').write('x')\n" + GOOD_LINEAR)
    assert report.outcome == "forbidden"
    assert "Read-only file system" in report.message
    assert not (Path(torch.__file__).parent / "evil.py").exists()
    still_grades()


def test_secrets_and_answers_are_not_readable(grade, catalog, still_grades):
    exercise = catalog["linear"]
    targets = [exercise.path / "reference.py", exercise.path / "exercise.toml", Path("/etc/shadow"), Path("/etc/passwd"), ROOT / "instance"]
    probe = "".join(f"import os\nprint({str(t)!r}, os.path.exists({str(t)!r}))\n" for t in targets)
    report = grade("linear", probe + GOOD_LINEAR)
    assert report.is_full_score
    for target in targets:
        assert f"{target} False" in report.stdout


def test_hidden_inputs_are_never_in_the_visible_process(grade, catalog, still_grades):
    hunt = textwrap.dedent(
        """\
        import gc
        for thing in gc.get_objects():
            if type(thing).__name__ == "Job":
                print("job cases:", [case.name for case in thing.cases])
            elif type(thing).__name__ == "Case":
                print("a case:", thing.name)
        """
    )
    report = grade("linear", hunt + GOOD_LINEAR)
    assert report.is_full_score
    assert "job cases: ['seed']" in report.stdout
    for case in catalog["linear"].cases:
        if case.hidden:
            assert case.name not in report.stdout
    still_grades()


@pytest.mark.parametrize("children", ["one child", "split over two"])
def test_a_thread_waiting_for_the_hidden_job_cannot_print_it(catalog, pool, children):
    """A thread started by the visible cases that steals the hidden job from stdin has nowhere
    left to print it: in one child the hidden job comes only after the output is closed; split,
    the visible child never gets it."""
    steal = textwrap.dedent(
        """\
        import os, threading
        out = os.dup(1)
        def steal():
            data = os.read(0, 1 << 20)
            for _ in range(100):
                try:
                    os.write(out, b"STOLEN " + data)
                except OSError:
                    pass
        threading.Thread(target=steal, daemon=True).start()
        """
    )
    if children == "one child":
        with Sandbox() as sandbox:  # a lone sandbox always runs both jobs in one child
            report = grade_submission(catalog["linear"], steal + GOOD_LINEAR, sandbox)
    else:
        report = grade_submission(catalog["linear"], steal + GOOD_LINEAR, pool)
    assert set(report.stdout.split()) <= {"STOLEN"}  # at most the thread's marker, never data
    for case in catalog["linear"].cases:
        if case.hidden:
            assert case.name not in report.stdout
    assert report.first_divergence is None  # the visible trace was judged as the harness sent it


def test_socket_to_a_local_listener_is_refused(grade, still_grades):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.settimeout(0.5)
        port = listener.getsockname()[1]
        report = grade("linear", f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=2).sendall(b'stolen')\n" + GOOD_LINEAR)
        with pytest.raises(TimeoutError):
            listener.accept()
    assert report.outcome == "forbidden"
    assert "open network connections" in report.message
    still_grades()


@pytest.mark.parametrize("target", ["os.getppid()", "1", "-1", "0"], ids=["parent", "pid-1", "everyone", "own-group"])
def test_signals_to_other_processes_are_refused(grade, still_grades, target):
    report = grade("linear", f"import os, signal\nos.kill({target}, signal.SIGKILL)\n" + GOOD_LINEAR)
    assert report.outcome == "forbidden"
    assert "PermissionError" in report.message
    still_grades()


def test_running_another_program_is_refused(grade, still_grades):
    report = grade("linear", "import os, sys\nos.execv(sys.executable, [sys.executable, '-c', 'print(1)'])\n" + GOOD_LINEAR)
    assert report.outcome == "forbidden"
    still_grades()


def test_tracing_the_sandbox_is_refused(grade, still_grades):
    source = "import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\nif libc.ptrace(16, os.getppid(), 0, 0) != 0:\n    raise PermissionError(ctypes.get_errno(), 'ptrace refused')\n"
    report = grade("linear", source + GOOD_LINEAR)
    assert report.outcome == "forbidden"
    still_grades()


def test_exit_at_import_is_a_crash(grade, still_grades):
    report = grade("linear", "import os\nos._exit(0)\n" + GOOD_LINEAR)
    assert report.outcome == "crashed"
    assert "exit code 0" in report.message
    still_grades()


def test_fake_results_on_stdout_and_inherited_fds_change_nothing(grade, still_grades):
    fake = '{"format": 2, "cases": []}'
    scribble = textwrap.dedent(
        f"""\
        import os
        print({fake!r})
        for fd in range(3, 64):
            try:
                os.write(fd, b"\\nnot-the-nonce 60\\n" + {fake!r}.encode())
                print("wrote to fd", fd)
            except OSError:
                pass
        """
    )
    report = grade("linear", scribble + GOOD_LINEAR.replace("w.data - lr", "w.data + lr"))
    assert report.outcome == "ok"
    assert report.codes == ["wrong_sign"]  # the real trace was judged, not the fake
    assert "wrote to fd 3" in report.stdout and "wrote to fd 4" not in report.stdout  # nothing else is open
    still_grades()


def test_a_forged_frame_with_the_real_nonce_is_refused(grade, still_grades):
    forge = textwrap.dedent(
        """\
        import gc, os
        import msgspec
        job = next(o for o in gc.get_objects() if type(o).__name__ == "Job" and o.nonce)
        body = msgspec.msgpack.encode({"format": 2, "cases": [{"name": "seed", "score": 100}]})
        os.write(3, b"\\n" + job.nonce.encode() + b" " + str(len(body)).encode() + b"\\n" + body)
        os._exit(0)
        """
    )
    report = grade("linear", forge + GOOD_LINEAR)
    assert report.outcome == "forbidden"
    assert "malformed result" in report.message
    assert report.score == 0
    still_grades()


def test_monkeypatched_comparisons_do_not_change_the_score(grade, still_grades):
    patch = textwrap.dedent(
        """\
        import math, torch
        torch.allclose = lambda *args, **kwargs: True
        torch.isclose = lambda *args, **kwargs: torch.tensor(True)
        math.isclose = lambda *args, **kwargs: True
        torch.Tensor.__eq__ = lambda self, other: True
        """
    )
    report = grade("linear", patch + GOOD_LINEAR.replace("w.data - lr", "w.data + lr"))
    assert report.codes == ["wrong_sign"]
    assert not report.is_full_score
    still_grades()


class RefusingRunner:
    """Fails the test if anything reaches the sandbox."""

    def run(self, *_args, **_kwargs):
        raise AssertionError("this source should have been refused before running")


def test_twenty_megabyte_source_is_refused_before_it_runs(catalog):
    source = GOOD_LINEAR + "# " + "x" * (20 * 1024 * 1024) + "\n"
    report = grade_submission(catalog["linear"], source, RefusingRunner())
    assert report.outcome == "contract_error"
    assert "20480 KB" in report.message and "limited to 256 KB" in report.message


def test_non_utf8_and_syntax_errors_are_student_outcomes(grade, still_grades):
    assert grade("linear", b"\xff\xfe\x00garbage").outcome == "syntax_error"
    assert grade("linear", "def forward(x:\n").outcome == "syntax_error"
    still_grades()


def test_killing_the_fork_server_costs_one_sandbox_not_the_pool(grade, pool, still_grades):
    """If a child ever reached its sandbox anyway, the pool would replace that sandbox."""
    victim = pool.sandboxes()[0]
    victim.wait_ready()
    os.killpg(victim.pid, signal.SIGKILL)
    while victim.processes() - {victim.pid}:  # until its sandbox is gone (bubblewrap is our zombie)
        time.sleep(0.01)
    reports = [grade("linear", GOOD_LINEAR) for _ in range(3)]
    assert [report.outcome for report in reports] == ["ok"] * 3, [report.message for report in reports]
    assert all(report.is_full_score for report in reports)
    assert pool.replaced >= 1
