"""The reference solution's own runs: every case through the sandbox, cached per version.

The reference is instructor code, but its runs come from the very loop that runs student code,
in the sandbox, so that both traces have one format and one set of numbers by construction. A
whole reference run is cached in memory and on disk per exercise version, torch version and
trace format; kinds that step the reference from a student's state load it in-process
(`load_reference`).
"""

from __future__ import annotations

import logging
import os
import threading
import types
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from grader import registry, trace
from grader.spec import Exercise

if TYPE_CHECKING:
    from grader.sandbox import Runner

CACHE_ENV = "GRADELAB_CACHE_DIR"

logger = logging.getLogger(__name__)


class BrokenReference(RuntimeError):
    """The exercise's reference does not run through its own cases: the exercise is broken."""


def job(exercise: Exercise, source: str, cases: list[Any]) -> trace.Job[Any]:
    """A job for the sandbox harness: a source, the exercise's contract, and these cases."""
    return trace.Job(
        source=source,
        kind=exercise.driver,
        functions={name: list(args) for name, args in exercise.functions.items()},
        parameters={name: list(shape) for name, shape in exercise.parameters.items()},
        classes=dict(exercise.classes),
        cases=cases,
    )


def load_reference(exercise: Exercise) -> types.ModuleType:
    """A fresh module object running the exercise's reference solution (trusted code), in-process."""
    source = exercise.reference_path.read_text(encoding="utf-8")
    module = types.ModuleType(f"gradelab_reference_{exercise.slug}")
    module.__file__ = str(exercise.reference_path)
    exec(compile(source, str(exercise.reference_path), "exec"), module.__dict__)
    return module


def cache_dir() -> Path:
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "gradelab" / "references"
    return Path(os.environ.get(CACHE_ENV, default))


def cache_key(exercise: Exercise) -> str:
    from importlib.metadata import (
        version,  # the installed torch's, without importing it
    )

    return f"{exercise.slug}-{exercise.version}-torch{version('torch')}-trace{trace.FORMAT}"


def reference_traces(exercise: Exercise, runner: Runner) -> dict[str, Any]:
    """Each case's reference record by case name: from memory, from disk if this version ran
    before, else run now in the sandbox through `runner`."""
    key = cache_key(exercise)
    with _CACHE_LOCK:
        lock = _KEY_LOCKS.setdefault(key, threading.Lock())
    with lock:  # one computation per version; other exercises' gradings do not wait for it
        if key not in _TRACES:
            _TRACES[key] = _load_or_compute(exercise, runner, cache_dir() / f"{key}.msgpack")
        return _TRACES[key]


def _load_or_compute(exercise: Exercise, runner: Runner, path: Path) -> dict[str, Any]:
    record_type = registry.driver(exercise.driver).record_type
    try:
        return msgspec.msgpack.decode(path.read_bytes(), type=dict[str, record_type])  # type: ignore[valid-type]
    except (OSError, msgspec.DecodeError):
        pass
    records = compute_reference_traces(exercise, runner)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_bytes(trace.encode(records))  # type: ignore[arg-type]
        temporary.replace(path)  # atomic: concurrent graders never read half a file
    except OSError:
        pass  # a read-only cache only costs time
    return records


def compute_reference_traces(exercise: Exercise, runner: Runner) -> dict[str, Any]:
    """Run the reference over every case, hidden ones included, in one sandboxed job."""
    from grader.tracecheck import (
        decoded_trace,  # here: tracecheck reads the registry's drivers
    )

    driver = registry.driver(exercise.driver)
    source = exercise.reference_path.read_text(encoding="utf-8")
    the_job = job(exercise, source, driver.job_cases(exercise))
    run = runner.run([the_job], exercise.limits)
    body = run.traces[0] if run.traces else None
    if run.status != "finished" or body is None:
        raise BrokenReference(f"{exercise.reference_path}: the reference did not run through its cases ({run.status})")
    decoded = decoded_trace(body, the_job, exercise)
    if isinstance(decoded, str):
        raise BrokenReference(f"{exercise.reference_path}: the reference's trace is malformed: {decoded}")
    if decoded.load is not None or decoded.contract:
        raise BrokenReference(f"{exercise.reference_path}: the reference does not load or lacks its contract: {decoded.load or decoded.contract}")
    records = {record.name: record for record in decoded.cases}
    for name, record in records.items():
        if (failure := driver.reference_failure(record)) is not None:
            raise BrokenReference(f"{exercise.reference_path}: the reference fails on case {name!r}: {failure}")
    return records


# Per-process cache keyed by exercise version: a changed exercise simply gets a new key.
_TRACES: dict[str, dict[str, Any]] = {}
_KEY_LOCKS: dict[str, threading.Lock] = {}
_CACHE_LOCK = threading.Lock()
