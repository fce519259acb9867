"""The frames a child writes: read in one pass, whatever student code writes among them.

Forged frames end as the submission's own `forbidden` outcome ("malformed result"), never as a
grader fault, and never change what the next submission on the same warm sandbox receives.
"""

from __future__ import annotations

import resource
import textwrap

import pytest
from submissions import GOOD_LINEAR
from test_hostile import still_grades  # noqa: F401  (the fixture)

from grader.frames import FrameReader, Unreadable, parse_frame
from grader.grading import build_jobs, grade_submission
from grader.sandbox import Sandbox
from grader.tracecheck import decoded_trace

TRACE = b"\x81\xa6format\x02"  # MessagePack for {"format": 2}


def frame(nonce: str, body: bytes, length: int | None = None) -> bytes:
    return f"\n{nonce} {len(body) if length is None else length}\n".encode() + body


def read(nonces: list[str], *chunks: bytes) -> FrameReader:
    """The framing alone: bodies come out as bytes (the trace check's rules are its own tests)."""
    reader = FrameReader(nonces)
    for chunk in chunks:
        reader.feed(chunk)
    return reader


def test_the_first_frame_of_a_nonce_decides_and_later_ones_are_ignored():
    reader = read(["a"], b"junk\n" + frame("a", TRACE) + frame("a", b"\x81\xa6format\x03") + frame("a", b"\x90"))
    assert reader.trace("a") == TRACE


def test_frames_split_at_any_byte_read_as_whole_ones():
    stream = b"printed\nnoise " + frame("b", b"\x81\xa1x\x92\x01\x02") + b"\nmore\n" + frame("a", TRACE)
    for size in (1, 2, 3, 7, 40):
        reader = read(["a", "b"], *(stream[i : i + size] for i in range(0, len(stream), size)))
        assert (reader.trace("a"), reader.trace("b")) == (TRACE, b"\x81\xa1x\x92\x01\x02"), size


@pytest.mark.parametrize(
    "forged",
    [
        frame("a", b"\x91" * 100_000 + b"\x90"),
        frame("a", b"\x81\xa4load" * 100_000 + b"\x01"),
        frame("a", b"not messagepack at all"),
        frame("a", b"\x90"),
        frame("a", b"\xa8a string"),
        b"\na 2 \n{}",
        b"\na 1e3\n" + TRACE,
        b"\na +12\n" + TRACE,
        b"\na 1_2\n" + TRACE,
        b"\na " + b"9" * 400 + b"\n" + TRACE,
        b"\na \n" + TRACE,
    ],
    ids=["nested-list", "nested-object", "not-messagepack", "a-list", "a-string", "spaced-length", "float-length", "signed-length", "underscored-length", "400-digit-length", "no-length"],
)
def test_a_frame_that_cannot_be_read_is_refused_not_an_error(forged, catalog):
    reader = read(["a"], forged + frame("a", TRACE))  # the honest frame after it comes too late
    assert reader.is_decided("a")
    visible_job, _ = build_jobs(catalog["linear"], GOOD_LINEAR)
    assert isinstance(decoded_trace(reader.trace("a"), visible_job, catalog["linear"]), str)  # unreadable, or read but malformed


def test_a_frame_cut_short_is_no_trace():
    assert parse_frame(frame("a", TRACE, length=len(TRACE) + 1), "a") is None
    assert parse_frame(b"\na 12", "a") is None  # a header still coming


def test_headers_of_a_decided_nonce_do_not_swallow_the_next_jobs_frame():
    reader = read(["a", "b"], frame("a", TRACE), b"\na 1000000\n", frame("b", TRACE))
    assert reader.trace("b") == TRACE


def test_unreadable_traces_name_why(catalog):
    visible_job, _ = build_jobs(catalog["linear"], GOOD_LINEAR)
    assert decoded_trace(Unreadable("why"), visible_job, catalog["linear"]) == "an unreadable frame: why"


def flood_of_headers(count: int, target: str = "visible") -> str:
    """Student code that finds its job's nonce and writes `count` fake frame headers with it."""
    return textwrap.dedent(
        f"""\
        import gc, os
        jobs = [o for o in gc.get_objects() if type(o).__name__ == "Job" and o.nonce]  # the hidden one's child may still hold the visible one
        job = next((job for job in jobs if job.cases[0].hidden == {target == "hidden"}), None)
        if job is not None and not hasattr(os, "flooded"):  # once: os outlives the module, which each job loads anew
            os.flooded = True
            view = memoryview(("\\n" + job.nonce + " x\\n").encode() * {count})
            while view:
                view = view[os.write(3, view):]
        """
    )


def test_a_flood_of_headers_costs_the_reader_one_scan():
    """1.8 M headers (64 MB) in pipe-sized chunks: each byte is scanned once, in C."""
    nonce, other = "1" * 32, "2" * 32
    flood = (f"\n{nonce} x\n".encode() + f"\n{'3' * 32} 5\n".encode()) * 900_000
    started = resource.getrusage(resource.RUSAGE_SELF)
    reader = read([nonce, other], *(flood[i : i + 65536] for i in range(0, len(flood), 65536)), frame(other, TRACE))
    used = resource.getrusage(resource.RUSAGE_SELF)
    assert reader.trace(other) == TRACE
    assert used.ru_utime + used.ru_stime - started.ru_utime - started.ru_stime < 1.0


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@pytest.fixture(scope="module")
def lone_sandbox():
    """A sandbox of its own runs every job of a submission in one child, as a busy pool does."""
    with Sandbox() as sandbox:
        yield sandbox


@pytest.mark.parametrize("target", ["visible", "hidden"])
def test_a_flood_of_forged_headers_costs_the_grader_little(catalog, lone_sandbox, target):
    """The issue's attack: 1.8 M headers with the nonce once cost 9-21 s of the grading process's CPU."""
    assert grade_submission(catalog["linear"], GOOD_LINEAR, lone_sandbox).is_full_score  # reference traces cached: not measured
    before = cpu_s()
    report = grade_submission(catalog["linear"], flood_of_headers(1_800_000, target) + GOOD_LINEAR, lone_sandbox)
    assert cpu_s() - before < 1.0
    assert report.outcome == "forbidden"
    assert "malformed result" in report.message
    assert grade_submission(catalog["linear"], GOOD_LINEAR, lone_sandbox).is_full_score
    assert lone_sandbox.alive


@pytest.mark.parametrize("target", ["visible", "hidden"])
def test_a_flood_split_over_two_children_is_refused_as_well(grade, still_grades, target):  # noqa: F811
    before = cpu_s()
    report = grade("linear", flood_of_headers(1_800_000, target) + GOOD_LINEAR)
    assert cpu_s() - before < 1.0
    assert report.outcome == "forbidden"
    still_grades()


def forged_frame(body: str) -> str:
    """Student code that writes a frame with its job's real nonce and `body` (Python that makes bytes)."""
    return textwrap.dedent(
        f"""\
        import gc, os
        job = next(o for o in gc.get_objects() if type(o).__name__ == "Job" and o.nonce)
        body = {body}
        view = memoryview(b"\\n" + job.nonce.encode() + b" " + str(len(body)).encode() + b"\\n" + body)
        while view:
            view = view[os.write(3, view):]
        """
    )


FORGED_BODIES = {
    "nested-100000-deep": 'b"\\x91" * 100_000 + b"\\x90"',
    "nested-in-a-trace": 'b"\\x82\\xa6format\\x02\\xa5cases" + b"\\x91" * 100_000 + b"\\x90"',
    "not-messagepack": 'b"\\xc1{\\"format\\": 2,"',
    "not-an-object": 'b"\\x93\\x01\\x02\\x03"',
}


@pytest.mark.parametrize("body", FORGED_BODIES.values(), ids=FORGED_BODIES.keys())
def test_a_forged_frame_that_cannot_be_read_is_the_students_outcome(grade, still_grades, body):  # noqa: F811
    report = grade("linear", forged_frame(body) + GOOD_LINEAR)
    assert report.outcome == "forbidden"
    assert "malformed result" in report.message
    assert report.score == 0
    still_grades()


def test_a_deeply_nested_frame_leaves_no_stale_reply_for_the_next_student(catalog, lone_sandbox):
    """In one child the hidden job follows the visible one: the nested frame is met while the
    jobs are being fed, where it once escaped with the fork server's reply still unread."""
    attack = grade_submission(catalog["linear"], forged_frame(FORGED_BODIES["nested-100000-deep"]) + GOOD_LINEAR, lone_sandbox)
    assert (attack.outcome, attack.score) == ("forbidden", 0)
    for _ in range(3):
        assert grade_submission(catalog["linear"], GOOD_LINEAR, lone_sandbox).is_full_score
    assert lone_sandbox.alive


def test_an_exchange_that_fails_closes_its_sandbox(catalog):
    """Whatever breaks while a run is under way, the sandbox is not handed a next run."""
    jobs = build_jobs(catalog["linear"], GOOD_LINEAR)

    def fail_on_the_first_trace(index, trace):
        raise RuntimeError("the caller failed")

    with Sandbox() as sandbox:
        with pytest.raises(RuntimeError, match="the caller failed"):
            sandbox.run(jobs, catalog["linear"].limits, fail_on_the_first_trace)
        assert not sandbox.alive
