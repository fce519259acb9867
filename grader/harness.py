"""Runs student code: loads one submission, checks its contract, runs each case with its kind's loop.

This is the core of the sandbox side: it shares a process with student code, so it imports the
standard library, torch, msgspec, the trace types and the recording primitives only, and each
kind's loop (`grader.drivers.<kind>.loop`, mounted beside it) by name. It is handed inputs but
never expected values, and returns facts, never a verdict: the judging happens in the parent.

In the sandbox, the fork server (`grader.forkserver`) calls `serve` in a fresh child per
submission: it reads jobs on stdin (the visible cases, then the hidden ones) and writes each
trace as one frame, tagged with its job's nonce, to the result descriptor.
"""

from __future__ import annotations

import importlib
import inspect
import os
import sys
import types
from collections.abc import Callable, Iterator
from typing import Any

import msgspec
import torch

from grader.record import SUBMISSION_FILENAME, error_record, text_of, type_name
from grader.trace import (
    FORMAT,
    MAX_MESSAGE_CHARS,
    ContractProblem,
    Error,
    Job,
    JobKind,
    MissingFunction,
    MissingParameter,
    NotCallable,
    NotSubclass,
    ParameterType,
    Signature,
    Trace,
    encode,
)


def loop_for(kind: str) -> types.ModuleType:
    """The kind's sandbox loop: `CASE_TYPE` and `run_case(module, case, source_lines)`."""
    if not kind.isidentifier():
        raise ValueError(f"not a kind: {kind!r}")
    return importlib.import_module(f"grader.drivers.{kind}.loop")


def load_submission(source: str) -> tuple[types.ModuleType | None, Error | None]:
    source_lines = source.splitlines()
    try:
        code = compile(source, SUBMISSION_FILENAME, "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as error:
        record = error_record(error, source_lines, "compile", None)
        offset = getattr(error, "offset", None)
        record.offset = offset if isinstance(offset, int) and offset >= 0 else None
        return None, record
    module = types.ModuleType("submission")
    module.__file__ = SUBMISSION_FILENAME
    sys.modules["submission"] = module
    try:
        exec(code, module.__dict__)
    except BaseException as error:
        return None, error_record(error, source_lines, "import", None)
    return module, None


def contract_problems(module: types.ModuleType, job: Job[Any]) -> list[ContractProblem]:
    """What the module lacks to be driven at all: names, callables, signatures, tensors, classes."""
    problems: list[ContractProblem] = []
    for name, args in job.functions.items():
        function = getattr(module, name, None)
        if function is None:
            problems.append(MissingFunction(name=name, args=args))
        elif not callable(function):
            problems.append(NotCallable(name=name, type=type_name(function)))
        elif not _accepts(function, len(args)):
            code = getattr(function, "__code__", None)
            actual = text_of(_signature_text(function), MAX_MESSAGE_CHARS)
            problems.append(Signature(name=name, args=args, actual=actual, line=code.co_firstlineno if code else None))
    for name in job.parameters:
        if not hasattr(module, name):
            problems.append(MissingParameter(name=name))
        elif not isinstance(getattr(module, name), torch.Tensor):
            problems.append(ParameterType(name=name, type=type_name(getattr(module, name))))
    for name, base in job.classes.items():
        value = getattr(module, name, None)
        if not (isinstance(value, type) and issubclass(value, _class_named(base))):
            problems.append(NotSubclass(name=name, expected=base, type=type_name(value)))
    return problems


def _class_named(dotted: str) -> type:
    module, _, name = dotted.rpartition(".")
    found = getattr(importlib.import_module(module), name)
    assert isinstance(found, type), dotted
    return found


def _accepts(function: Callable[..., Any], count: int) -> bool:
    try:
        inspect.signature(function).bind(*range(count))
    except TypeError:
        return False
    except ValueError:  # no signature to read (a builtin): let the call itself decide
        return True
    return True


def _signature_text(function: Callable[..., Any]) -> str:
    try:
        return f"{function.__name__}{inspect.signature(function)}"
    except Exception:  # no signature to read, or a hostile object: its repr, or nothing
        try:
            return repr(function)
        except Exception:
            return "a callable whose signature cannot be read"


def silence_output() -> None:
    """From here on, student prints go nowhere: hidden cases must not leak their inputs."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os.close(devnull)


def run_job(job: Job[Any]) -> Trace[Any]:
    """Load the submission, check its contract, run every case with its kind's loop: visible ones first."""
    torch.set_num_threads(1)
    torch.manual_seed(0)
    loop = loop_for(job.kind)
    trace: Trace[Any] = Trace(format=FORMAT, contract=[], cases=[])
    module, trace.load = load_submission(job.source)
    if module is None:
        return trace
    trace.contract = contract_problems(module, job)
    if trace.contract:
        return trace
    source_lines = job.source.splitlines()
    for case in sorted(job.cases, key=lambda c: c.hidden):
        if case.hidden:
            silence_output()
        trace.cases.append(loop.run_case(module, case, source_lines))
    return trace


def write_frame(fd: int, nonce: str, trace: Trace[Any]) -> None:
    """`<nonce> <length>\\n<body>`: the parent takes the first well-formed frame with its nonce."""
    body = encode(trace)
    data = f"\n{nonce} {len(body)}\n".encode() + body
    while data:
        written = os.write(fd, data)
        data = data[written:]


def serve(result_fd: int) -> None:
    """Run the jobs that arrive on stdin in turn, send each trace, and end without cleanup.

    After the first job, output goes to /dev/null: the grader sends the next job (the hidden
    cases) only once it has the first trace and has stopped reading this process's output.
    """
    for job in read_jobs(sys.stdin.buffer):
        trace = run_job(job)
        silence_output()
        write_frame(result_fd, job.nonce, trace)
    os._exit(0)  # no student atexit handler or thread gets to run after the traces are out


def read_jobs(stream: Any) -> Iterator[Job[Any]]:
    """Jobs framed as `<length>\\n<json>`, until the grader closes the stream; each decoded with
    the case type of its kind's loop."""
    while header := stream.readline():
        body = stream.read(int(header))
        loop = loop_for(msgspec.json.decode(body, type=JobKind).kind)
        yield msgspec.json.decode(body, type=Job[loop.CASE_TYPE])  # type: ignore[name-defined]
