"""Decodes and checks a trace that came out of the sandbox before anything trusts its shape.

The trace is written in the same process as student code, and student code can find the
job's nonce in memory and forge a frame. Numbers it forges are judged like any others (they
must follow the reference's own transitions), but a malformed structure must not reach the
judges as a grader crash: it is refused here, and the submission ends as `forbidden`.

msgspec decodes the frame straight into the trace types of `grader.trace` and of the job's
kind, checking them as it goes, in C: unknown fields, wrong types, lengths and counts past
their bounds are refused there. What the types do not say is checked after them: a file that
did not load has no cases, the cases are the job's in its order, and each record fits its case
(the kind's `case_problem`). Whatever passes can be judged without an exception; whatever does
not is the student's outcome.
"""

from __future__ import annotations

import functools
from typing import Any

import msgspec

from grader import registry
from grader.frames import Unreadable
from grader.spec import Exercise
from grader.trace import Job, Trace


def decoded_trace(body: bytes | Unreadable, job: Job[Any], exercise: Exercise) -> Trace[Any] | str:
    """The frame's trace for this job, checked; or what is wrong with it."""
    if isinstance(body, Unreadable):
        return f"an unreadable frame: {body.reason}"
    driver = registry.driver(exercise.driver)
    try:
        trace = _decoder(driver.record_type).decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError) as error:
        return str(error)
    except RecursionError:
        return "a frame nested too deep to read"
    expected = [case.name for case in sorted(job.cases, key=lambda c: c.hidden)] if trace.loaded else []
    if [record.name for record in trace.cases] != expected:
        return "its cases are not the cases of the job"
    cases = {case.name: case for case in job.cases}
    for record in trace.cases:
        if problem := driver.case_problem(record, cases[record.name], exercise):
            return f"case {record.name}: {problem}"
    return trace


@functools.cache
def _decoder(record_type: type) -> msgspec.msgpack.Decoder[Trace[Any]]:
    return msgspec.msgpack.Decoder(Trace[record_type])  # type: ignore[valid-type]
