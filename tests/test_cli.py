"""The `gradelab` command: listing, statements, starters, grading exit codes, self-check, terminal safety."""

from __future__ import annotations

import http.server
import json
import os
import pty
import re
import select
import subprocess
import sys
import threading
import time
import tty
from collections.abc import Iterator
from pathlib import Path

import processes
import pytest
from click.testing import CliRunner

from grader.cli import main

ROOT = Path(__file__).resolve().parent.parent
SEED_LINEAR = ROOT / "exercises" / "linear" / "solutions" / "seed.py"
ASCENT = ROOT / "exercises" / "linear" / "mistakes" / "ascent.py"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_exercises_lists_the_catalog(runner):
    result = runner.invoke(main, ["exercises"])
    assert result.exit_code == 0
    assert [line.split()[0] for line in result.output.splitlines()] == ["tensor_facts", "vector_backward", "linear", "quadratic", "one_sample_mse", "scalar_descent", "detach_numpy", "matrix_mse", "retain_create_graph", "nn_linear", "custom_square", "custom_linear"]


def test_show_prints_the_statement_in_each_language(runner):
    english = runner.invoke(main, ["show", "quadratic"])
    chinese = runner.invoke(main, ["show", "quadratic", "--lang", "zh"])
    assert english.exit_code == chinese.exit_code == 0
    assert "What to write" in english.output
    assert "要写什么" in chinese.output


def test_starter_writes_a_file_once(runner, tmp_path):
    target = tmp_path / "mine.py"
    first = runner.invoke(main, ["starter", "linear", "-o", str(target)])
    again = runner.invoke(main, ["starter", "linear", "-o", str(target)])
    assert first.exit_code == 0 and "def update(lr):" in target.read_text(encoding="utf-8")
    assert again.exit_code == 1 and "not overwriting" in again.output


def test_grade_full_marks_exits_0(runner):
    result = runner.invoke(main, ["grade", "linear", str(SEED_LINEAR)])
    assert result.exit_code == 0, result.output
    assert "linear: 100/100 (ok)" in result.output


def test_grade_below_full_exits_1_and_explains(runner):
    result = runner.invoke(main, ["grade", "linear", str(ASCENT)])
    assert result.exit_code == 1
    assert "[wrong_sign]" in result.output
    assert "First divergence" in result.output and "step 1" in result.output and "expected [1.02], got [0.98]" in result.output


def test_grade_json_is_the_result_contract(runner):
    result = runner.invoke(main, ["grade", "linear", str(ASCENT), "--json"])
    data = json.loads(result.output)
    for key in ("exercise", "score", "max_score", "outcome", "checks", "diagnoses", "stdout", "duration_ms"):
        assert key in data
    assert data["outcome"] == "ok" and data["score"] < data["max_score"] == 100
    assert {"id", "passed", "points", "max_points", "hidden", "message"} <= set(data["checks"][0])
    assert data["diagnoses"][0]["code"] == "wrong_sign"


def test_grade_json_has_no_bare_nan(runner):
    diverging = ROOT / "exercises" / "linear" / "mistakes" / "huge_step.py"
    result = runner.invoke(main, ["grade", "linear", str(diverging), "--json"])
    json.loads(result.output, parse_constant=lambda name: pytest.fail(f"bare {name} in JSON"))


@pytest.mark.parametrize(
    "args",
    [["grade", "nonexistent", str(SEED_LINEAR)], ["grade", "linear", "/no/such/file.py"], ["grade", "linear"], ["show", "linear", "--lang", "fr"]],
    ids=["unknown-exercise", "missing-file", "no-file", "bad-language"],
)
def test_usage_errors_exit_2(runner, args):
    result = runner.invoke(main, args)
    assert result.exit_code == 2


def test_unreadable_file_exits_2(runner, tmp_path):
    folder = tmp_path / "a-folder.py"
    folder.mkdir()
    assert runner.invoke(main, ["grade", "linear", str(folder)]).exit_code == 2


def test_check_exercises_console_script_is_green():
    """The installed command itself, as a user runs it (one exercise: the others run in test_exercise_files)."""
    result = processes.run([str(Path(sys.executable).parent / "gradelab"), "check-exercises", "linear"], timeout_s=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 failed" in result.stdout
    assert "mistakes/no_zero_grad.py" in result.stdout and "missing_zero_grad" in result.stdout
    assert "note:" not in result.stdout  # linear's reference steps are vectorized


def test_check_exercises_notes_a_reference_that_steps_one_at_a_time(runner, tmp_path):
    """A value-dependent branch in the reference's loss: vmap refuses it, grading stays right."""
    import shutil

    folder = shutil.copytree(ROOT / "exercises" / "linear", tmp_path / "linear")
    for path in [*(folder / "mistakes").glob("*.py"), *(folder / "solutions").glob("*.py")]:
        if path.name not in ("ascent.py", "no_zero_grad.py", "seed.py"):
            path.unlink()
    reference = folder / "reference.py"
    guard = "    if float((y_pred - y).detach().abs().max()) < 0:\n        raise ValueError('never')\n"
    reference.write_text(reference.read_text(encoding="utf-8").replace("    return (y_pred - y) ** 2", guard + "    return (y_pred - y) ** 2"), encoding="utf-8")
    result = runner.invoke(main, ["--exercises", str(tmp_path), "check-exercises"])
    assert result.exit_code == 0, result.output
    assert "4 passed, 0 failed" in result.output
    assert "note: linear: reference steps run one at a time" in result.output


def test_check_exercises_fails_on_a_mislabelled_mistake(runner, tmp_path):
    import shutil

    shutil.copytree(ROOT / "exercises" / "linear", tmp_path / "linear")
    for path in (tmp_path / "linear" / "mistakes").glob("*.py"):
        if path.name != "ascent.py":
            path.unlink()
    ascent = tmp_path / "linear" / "mistakes" / "ascent.py"
    ascent.write_text(ascent.read_text(encoding="utf-8").replace("# expect: wrong_sign", "# expect: no_update"), encoding="utf-8")
    result = runner.invoke(main, ["--exercises", str(tmp_path), "check-exercises"])
    assert result.exit_code == 1
    assert "FAIL: no no_update diagnosis" in result.output


def gradelab_without_bubblewrap(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The installed command on a machine where `bwrap` cannot be found."""
    empty = tmp_path / "empty-path"
    empty.mkdir(exist_ok=True)
    command = [str(Path(sys.executable).parent / "gradelab"), *args]
    return processes.run(command, timeout_s=300, env={"PATH": str(empty), "HOME": str(tmp_path)})


def test_grade_refuses_to_run_code_without_a_sandbox(tmp_path):
    result = gradelab_without_bubblewrap(tmp_path, "grade", "linear", str(SEED_LINEAR))
    assert result.returncode == 3
    assert "refusing to run untrusted code: bubblewrap is not installed" in result.stderr
    assert "--unsafe-no-sandbox" in result.stderr
    assert "100/100" not in result.stdout


def test_unsafe_no_sandbox_grades_your_own_code_with_a_warning(tmp_path):
    result = gradelab_without_bubblewrap(tmp_path, "grade", "linear", str(SEED_LINEAR), "--unsafe-no-sandbox")
    assert result.returncode == 0, result.stderr
    assert "linear: 100/100 (ok)" in result.stdout
    assert "unisolated" in result.stderr


# What a terminal would obey: clear the screen, retitle the window, go back to the start of the line
# and overwrite it with a fake score, move up, clear again (C1 CSI), reverse the text (bidi), reset.
HOSTILE = "before\x1b[2J\x1b]0;title\x07\rlinear: 100/100 (ok)\x1b[A\x9b2J\u202eevil\u2066x\x1bc\x7f\x00"
HOSTILE_SHOWN = "beforelinear: 100/100 (ok)evilx"  # all of it gone but the printable text
HOSTILE_IN_SOURCE = HOSTILE.replace("\r", "").replace("\x00", "")  # raw in a file: a CR would end the line, a NUL is refused
OWN_STYLES = re.compile(rb"\x1b\[(?:0|1|2|31|32|33)m")  # the report's own colours, on a terminal
UNSAFE = {*map(chr, range(0x20)), *map(chr, range(0x7F, 0xA0)), *map(chr, range(0x202A, 0x202F)), *map(chr, range(0x2066, 0x206A))} - {"\n", "\t"}
GRADELAB = str(Path(sys.executable).parent / "gradelab")


def unsafe_characters(output: bytes) -> list[str]:
    """Control, C1 and bidi characters in what was printed, but for the report's own colours."""
    text = OWN_STYLES.sub(b"", output).decode("utf-8")
    return sorted({f"U+{ord(character):04X}" for character in text if character in UNSAFE})


def on_a_terminal(command: list[str], timeout_s: float = 300, **options) -> tuple[int, bytes]:
    """Run `command` with its stdout and stderr on a pseudo-terminal; its exit code and every byte it wrote."""
    primary, secondary = pty.openpty()
    tty.setraw(secondary)  # no newline translation: the bytes are the program's own
    process = processes.start(command, stdin=subprocess.DEVNULL, stdout=secondary, stderr=secondary, **options)
    os.close(secondary)
    output = bytearray()
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            if select.select([primary], [], [], 1)[0]:
                try:
                    chunk = os.read(primary, 65536)
                except OSError:  # EIO: the last writer closed the terminal
                    break
                if not chunk:
                    break
                output += chunk
        else:
            pytest.fail(f"{command} still running after {timeout_s} s: {bytes(output)[-2000:]!r}")
        process.wait(timeout=60)
    finally:
        os.close(primary)
        processes.kill(process)
    return process.returncode, bytes(output)


def hostile_printer(tmp_path: Path) -> Path:
    """The seed solution, full marks, after printing HOSTILE."""
    path = tmp_path / "printer.py"
    path.write_text(f"print({HOSTILE!r})\n" + SEED_LINEAR.read_text(encoding="utf-8"), encoding="utf-8")
    return path


def hostile_crasher(tmp_path: Path) -> Path:
    """A file that raises with HOSTILE as its message, on a line that holds escape characters itself."""
    path = tmp_path / "crasher.py"
    path.write_text(f'raise ValueError("{HOSTILE_IN_SOURCE}" + {HOSTILE!r})\n', encoding="utf-8")
    return path


@pytest.mark.parametrize("where", ["pipe", "terminal"])
def test_grade_prints_nothing_of_the_students_output_that_a_terminal_would_obey(tmp_path, where):
    command = [GRADELAB, "grade", "linear", str(hostile_printer(tmp_path))]
    if where == "terminal":
        code, output = on_a_terminal(command)
    else:
        result = processes.run(command, timeout_s=300, text=False)
        code, output = result.returncode, result.stdout + result.stderr
    assert code == 0, output
    assert unsafe_characters(output) == []
    lines = OWN_STYLES.sub(b"", output).decode("utf-8").splitlines()
    assert lines[0] == "linear: 100/100 (ok)"
    assert [line for line in lines if line.startswith("linear:")] == ["linear: 100/100 (ok)"]
    assert f"  | {HOSTILE_SHOWN}" in lines
    assert "title" not in "\n".join(lines) and "2J" not in "\n".join(lines)


def test_grade_on_a_terminal_strips_the_students_error_message_and_line(tmp_path):
    code, output = on_a_terminal([GRADELAB, "grade", "linear", str(hostile_crasher(tmp_path))])
    assert code == 1, output
    assert unsafe_characters(output) == []
    text = OWN_STYLES.sub(b"", output).decode("utf-8")
    assert text.splitlines()[0] == "linear: 0/100 (crashed)"
    assert f"\n  ValueError: {HOSTILE_SHOWN * 2}\n" in text
    assert f"\n  line 1: raise ValueError(\"{HOSTILE_SHOWN}\" + " in text  # the line of code itself


def test_grade_json_escapes_what_a_terminal_would_obey_and_keeps_it_exact(tmp_path):
    printed = on_a_terminal([GRADELAB, "grade", "linear", str(hostile_printer(tmp_path)), "--json"])[1]
    crashed = on_a_terminal([GRADELAB, "grade", "linear", str(hostile_crasher(tmp_path)), "--json"])[1]
    assert unsafe_characters(printed) == unsafe_characters(crashed) == []
    assert json.loads(printed)["stdout"].startswith(HOSTILE + "\n")
    assert json.loads(crashed)["error"]["message"] == HOSTILE_IN_SOURCE + HOSTILE


class HostileServer(http.server.BaseHTTPRequestHandler):
    """A Gradelab API that answers with HOSTILE in every field a client prints."""

    def do_POST(self) -> None:  # noqa: N802 - the name http.server calls
        self.rfile.read(int(self.headers["Content-Length"]))
        if "/exercises/refused/" in self.path:
            self._answer(400, {"error": HOSTILE})
        elif "/exercises/malformed/" in self.path:
            self._answer(201, {**hostile_submission(), "report": {"outcome": HOSTILE}})
        elif "/exercises/unlike/" in self.path:
            self._answer(201, [HOSTILE])
        else:
            self._answer(201, hostile_submission())

    def _answer(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_: object) -> None:
        pass


def hostile_submission() -> dict:
    check = {"id": "forward", "passed": True, "points": 100, "max_points": 100, "hidden": False, "message": HOSTILE}
    report = {
        "exercise": "linear",
        "exercise_version": HOSTILE,
        "outcome": "ok",
        "message": HOSTILE,
        "checks": [check],
        "diagnoses": [{"code": HOSTILE, "message": HOSTILE, "step": None, "parameter": None, "hidden": False}],
        "error": {"phase": "run", "type": HOSTILE, "message": HOSTILE, "line": 3, "text": HOSTILE, "function": HOSTILE},
        "first_divergence": {"quantity": HOSTILE, "parameter": HOSTILE, "case": HOSTILE, "expected": None, "actual": None},
        "series": {},
        "stdout": HOSTILE,
        "stdout_truncated": False,
        "duration_ms": 1.0,
    }
    return {
        "id": 1,
        "status": "graded",
        "final": True,
        "score": 100,
        "max_score": 100,
        "final_score": 90,
        "late": True,
        "penalty": HOSTILE,
        "url": "http://server/" + HOSTILE,
        "events": [{"status": "graded", "detail": HOSTILE}],
        "report": report,
    }


@pytest.fixture
def hostile_server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), HostileServer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("exercise", ["linear", "refused"])
def test_submit_prints_nothing_of_a_servers_answer_that_a_terminal_would_obey(tmp_path, hostile_server, exercise):
    source = tmp_path / "mine.py"
    source.write_text("w = 1\n")
    environment = {key: value for key, value in os.environ.items() if not key.startswith("GRADELAB_")}
    environment.update(GRADELAB_TOKEN="glb_test", XDG_CONFIG_HOME=str(tmp_path))
    command = [GRADELAB, "submit", exercise, str(source), "--server", hostile_server]
    code, output = on_a_terminal(command, env=environment)
    _, as_json = on_a_terminal([*command, "--json"], env=environment)
    assert unsafe_characters(output) == unsafe_characters(as_json) == []
    text = OWN_STYLES.sub(b"", output).decode("utf-8")
    if exercise == "refused":
        assert code == 3 and f"HTTP 400: {HOSTILE_SHOWN}" in text
    else:
        assert code == 0 and text.splitlines()[0] == "linear: 100/100 (ok)" and f"http://server/{HOSTILE_SHOWN}" in text
        assert json.loads(as_json) == hostile_submission()


def test_check_exercises_prints_nothing_of_a_crashing_solution_that_a_terminal_would_obey(tmp_path):
    import shutil

    folder = shutil.copytree(ROOT / "exercises" / "linear", tmp_path / "linear")
    for path in [*(folder / "mistakes").glob("*.py"), *(folder / "solutions").glob("*.py")]:
        if path.name != "ascent.py":
            path.unlink()
    hostile_crasher(folder / "solutions")
    code, output = on_a_terminal([GRADELAB, "--exercises", str(tmp_path), "check-exercises"])
    assert code == 1, output
    assert unsafe_characters(output) == []
    text = OWN_STYLES.sub(b"", output).decode("utf-8")
    assert "solutions/crasher.py" in text and f"should score full marks (Your file raised ValueError while it was loaded, at line 1: {HOSTILE_SHOWN * 2})" in text
    assert "2 passed, 1 failed" in text


def test_submit_of_a_file_that_cannot_be_read_exits_2_before_any_request(tmp_path):
    environment = {key: value for key, value in os.environ.items() if not key.startswith("GRADELAB_")}
    environment.update(GRADELAB_TOKEN="glb_test", XDG_CONFIG_HOME=str(tmp_path))
    result = processes.run([GRADELAB, "submit", "linear", str(tmp_path / "missing.py"), "--server", "http://127.0.0.1:9"], timeout_s=120, env=environment)
    assert result.returncode == 2, result.stderr
    assert "missing.py" in result.stderr and "No such file or directory" in result.stderr and "Cannot reach" not in result.stderr


@pytest.mark.parametrize(("exercise", "message"), [("malformed", "not a Gradelab submission (KeyError: "), ("unlike", "not a JSON object")])
def test_submit_explains_an_answer_that_is_no_submission(tmp_path, hostile_server, exercise, message):
    source = tmp_path / "mine.py"
    source.write_text("w = 1\n")
    environment = {key: value for key, value in os.environ.items() if not key.startswith("GRADELAB_")}
    environment.update(GRADELAB_TOKEN="glb_test", XDG_CONFIG_HOME=str(tmp_path))
    result = processes.run([GRADELAB, "submit", exercise, str(source), "--server", hostile_server], timeout_s=120, env=environment)
    assert result.returncode == 3, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr
    assert unsafe_characters(result.stderr.encode()) == []
