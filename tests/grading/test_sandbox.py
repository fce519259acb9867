"""The child process: started early, closed cleanly, and never able to hand back a forged frame."""

from __future__ import annotations

from grader.sandbox import HarnessProcess, parse_frame


def test_unused_child_is_reaped_on_close():
    child = HarnessProcess()
    child.close()
    child.close()  # idempotent
    assert child._child.returncode is not None  # killed and waited for: no zombie left


def test_frame_needs_the_nonce_and_the_right_length():
    assert parse_frame(b"junk printed first\nabc 2\n{}", "abc") == {}
    assert parse_frame(b"\nxyz 2\n{}", "abc") is None  # another run's nonce
    assert parse_frame(b"\nabc 9\n{}", "abc") is None  # cut short
    assert parse_frame(b"\nabc 2\n{}\nabc 2\n[]", "abc") == {}  # a frame that is not an object is skipped
