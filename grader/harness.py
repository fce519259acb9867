"""Runs student code: loads one submission, drives its training loop, records the raw trace.

This is the only grader module that shares a process with student code. It is therefore kept
self-contained (standard library and torch, no other grader module), is handed inputs but never
expected values, and returns numbers and facts, never a verdict: whatever a submission does to
this process, the judging happens in the parent (`grader.compare`, `grader.diagnose`).

In the sandbox, the fork server (`grader.forkserver`) calls `serve` in a fresh child per
submission: it reads JSON jobs on stdin (the visible cases, then the hidden ones) and writes each
trace as one frame, tagged with its job's nonce, to the result descriptor. The trusted side
imports `run_case` to drive the reference solution through the very same loop.
"""

from __future__ import annotations

import inspect
import json
import numbers
import os
import sys
import traceback
import types
from collections.abc import Callable, Iterator
from typing import Any

import torch

TRACE_FORMAT = 1
SUBMISSION_FILENAME = "submission.py"
MAX_RECORDED_VALUES = 4096
MAX_MESSAGE_CHARS = 2000
MAX_NAME_CHARS = 200


# Captured when the harness is imported, before any student code runs (the fork server imports
# it before it forks): what a submission could replace to hand in gradients of its own.
# The namespaces themselves (live views: a replacement shows in them), each with the entries it
# must keep; read by plain lookups, a microsecond per step instead of inspect.getattr_static's ten.
_GRAD = inspect.getattr_static(torch.Tensor, "grad")  # the descriptor autograd writes through
_AUTOGRAD_ENTRIES = tuple(
    (namespace, {name: namespace[name] for name in names})
    for namespace, names in ((vars(torch.Tensor), ("backward",)), (vars(torch.autograd), ("backward", "grad")))
)
_TENSOR_CLASSES = tuple(vars(cls) for cls in torch.Tensor.__mro__)  # where `.grad` is looked up, in order
_REGISTER_HOOK = torch.Tensor.register_post_accumulate_grad_hook


class StopCase(Exception):
    """The loop cannot go on: the case ends here, for a reason the parent will diagnose."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def describe(value: Any) -> dict[str, Any]:
    """Plain, JSON-ready facts about whatever student code handed back.

    Called several times per training step, so it avoids building new tensors: `tolist` reads
    a tensor that requires grad without touching the graph, and float32 values are exact as
    Python floats.
    """
    if isinstance(value, torch.Tensor):
        grad_fn = value.grad_fn
        return {
            "kind": "tensor",
            "shape": list(value.shape),
            "dtype": str(value.dtype).removeprefix("torch."),
            "values": [] if value.is_complex() else _flat_values(value),
            "requires_grad": bool(value.requires_grad),
            "is_leaf": bool(value.is_leaf),
            "grad_fn": type(grad_fn).__name__ if grad_fn is not None else None,
        }
    if value is None:
        return {"kind": "none"}
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return {"kind": "number", "type": _type_name(value), "shape": [], "values": [float(value)]}
    return {"kind": "other", "type": _type_name(value)}


MAX_ITEMS = 16  # of a returned tuple or list; deeper than MAX_DEPTH is "other"
MAX_DEPTH = 3


def describe_returned(value: Any, depth: int = 0) -> dict[str, Any]:
    """`describe`, and also what a function of the `calls` driver may hand back: a bool, a string,
    a NumPy array, or a short tuple or list of those."""
    if isinstance(value, bool):
        return {"kind": "bool", "value": value}
    if isinstance(value, str):
        return {"kind": "str", "value": value[:MAX_MESSAGE_CHARS]}
    if isinstance(value, (list, tuple)) and depth < MAX_DEPTH:
        return {"kind": "sequence", "items": [describe_returned(item, depth + 1) for item in value[:MAX_ITEMS]], "length": len(value)}
    if type(value).__module__ == "numpy" and type(value).__name__ == "ndarray" and value.dtype.kind in "biuf":
        flat = value.reshape(-1)[:MAX_RECORDED_VALUES].astype("float64").tolist()
        return {"kind": "ndarray", "shape": list(value.shape), "dtype": str(value.dtype), "values": flat}
    return describe(value)


def _flat_values(tensor: torch.Tensor) -> list[Any]:
    if tensor.dtype == torch.bool:
        tensor = tensor.detach().to(torch.float64)  # JSON numbers, not true/false
    if tensor.numel() > MAX_RECORDED_VALUES:
        return tensor.detach().reshape(-1)[:MAX_RECORDED_VALUES].tolist()
    values = tensor.tolist()
    if tensor.dim() == 0:
        return [values]
    for _ in range(tensor.dim() - 1):
        values = [item for row in values for item in row]
    return values


def install_parameters(module: types.ModuleType, init: dict[str, dict[str, Any]]) -> None:
    """Fresh float32 leaf tensors that require grad, bound as the module's globals."""
    for name, spec in init.items():
        tensor = torch.tensor(spec["values"], dtype=torch.float32).reshape(spec["shape"])
        setattr(module, name, tensor.requires_grad_(True))


def gradient_of(module: types.ModuleType, name: str) -> Any:
    """The parameter's `.grad`, read the way autograd fills it.

    A non-leaf has no `.grad` unless it retains it (reading it anyway only warns and gives
    None): the trace records None and the parent diagnoses the lost leaf.
    """
    parameter = getattr(module, name, None)
    if not isinstance(parameter, torch.Tensor) or not (parameter.is_leaf or parameter.retains_grad):
        return None
    return _GRAD.__get__(parameter)  # the tensor's own .grad, whatever a submission put on the class


def is_autograd_replaced() -> bool:
    """Whether `Tensor.backward`, `torch.autograd.backward` or `.grad` is no longer torch's own."""
    if any(namespace.get(name) is not original for namespace, entries in _AUTOGRAD_ENTRIES for name, original in entries.items()):
        return True
    return next((namespace["grad"] for namespace in _TENSOR_CLASSES if "grad" in namespace), None) is not _GRAD


class GradientWatch:
    """Which parameters' gradients one backward() changed without autograd's engine writing them.

    A post-accumulate-grad hook on each current leaf parameter fires only when the engine
    accumulates into its .grad; a gradient that changed without it (set by hand, by a replaced
    backward, on a parameter rebound meanwhile) did not come from autograd. A gradient left as
    it was (a parameter outside this step's graph) is not counted.
    """

    def __init__(self, module: types.ModuleType, names: list[str]) -> None:
        self.module = module
        self.written: set[str] = set()
        self.before: dict[str, tuple[torch.Tensor, torch.Tensor | None, int | None]] = {}
        self.handles: list[Any] = []
        for name in names:
            parameter = getattr(module, name, None)
            if isinstance(parameter, torch.Tensor) and parameter.is_leaf and parameter.requires_grad:
                grad = _GRAD.__get__(parameter)
                self.before[name] = (parameter, grad, grad._version if grad is not None else None)
                self.handles.append(_REGISTER_HOOK(parameter, lambda _, name=name: self.written.add(name)))

    def not_from_autograd(self) -> list[str]:
        for handle in self.handles:
            handle.remove()
        replaced = is_autograd_replaced()
        missed = []
        for name, (parameter, grad, version) in self.before.items():
            current = getattr(self.module, name, None)
            now = gradient_of(self.module, name)
            changed = current is not parameter or now is not grad or (now is not None and now._version != version)
            if now is not None and (replaced or (changed and name not in self.written)):
                missed.append(name)
        return missed


def training_samples(case: dict[str, Any]) -> list[tuple[Any, Any]]:
    """Per-sample steps take Python floats, as the seeds do; full-batch steps take tensors."""
    if case["batch"] == "sample":
        return list(zip(case["x"], case["y"]))
    return [(torch.tensor(case["x"], dtype=torch.float32), torch.tensor(case["y"], dtype=torch.float32))]


def test_input(case: dict[str, Any]) -> Any:
    if case["batch"] == "sample":
        return case["x_test"]
    return torch.tensor(case["x_test"], dtype=torch.float32)


def is_in_graph(loss: Any) -> bool:
    return isinstance(loss, torch.Tensor) and loss.requires_grad and loss.grad_fn is not None


def parameter_fault(value: Any) -> str | None:
    if not isinstance(value, torch.Tensor):
        return "not_tensor"
    if not (value.is_floating_point() or value.is_complex()):
        return "integer_dtype"
    if not value.requires_grad:
        return "lost_requires_grad"
    if not value.is_leaf:
        return "non_leaf"
    return None


def run_case(module: types.ModuleType, case: dict[str, Any], source_lines: list[str]) -> dict[str, Any]:
    """Drive `loss` -> `backward` -> `update(lr)` over the case, recording every step.

    The record of a step is appended before the step runs, so a step that raises still shows
    how far it got; the case then stops, with the exception or the reason recorded.
    """
    record: dict[str, Any] = {"name": case["name"], "probe": [], "steps": [], "prediction": None, "stopped": None, "error": None}
    where: dict[str, Any] = {"phase": "forward", "step": None}
    names = list(case["init"])
    try:
        install_parameters(module, case["init"])
        for x, _ in training_samples(case):
            record["probe"].append(describe(module.forward(x)))
        install_parameters(module, case["init"])
        for epoch in range(case["epochs"]):
            for index, (x, y) in enumerate(training_samples(case)):
                step: dict[str, Any] = {"epoch": epoch, "sample": index}
                record["steps"].append(step)
                where["step"] = len(record["steps"])
                _run_step(module, step, names, x, y, case["lr"], where)
        where.update(phase="prediction", step=None)
        record["prediction"] = describe(module.forward(test_input(case)))
    except StopCase as stop:
        record["stopped"] = stop.reason
    except BaseException as error:  # student code may raise anything, SystemExit included
        record["error"] = error_record(error, source_lines, where["phase"], where["step"])
    return record


def run_calls(module: types.ModuleType, case: dict[str, Any], source_lines: list[str]) -> dict[str, Any]:
    """The `calls` driver: each function of the contract on the case's arguments, and what it returned.

    One function that raises does not stop the others: each call is its own record.
    """
    record: dict[str, Any] = {"name": case["name"], "calls": {}}
    for name, args in case["args"].items():
        try:
            returned = getattr(module, name)(*json.loads(json.dumps(args)))  # a fresh copy for each call
            record["calls"][name] = {"value": describe_returned(returned)}
        except BaseException as error:  # student code may raise anything, SystemExit included
            record["calls"][name] = {"error": error_record(error, source_lines, "call", None)}
    return record


def _run_step(module: types.ModuleType, step: dict[str, Any], names: list[str], x: Any, y: Any, lr: float, where: dict[str, Any]) -> None:
    where["phase"] = "loss"
    loss = module.loss(x, y)
    step["loss"] = describe(loss)
    if not is_in_graph(loss):
        raise StopCase("detached_loss")
    where["phase"] = "backward"
    watch = GradientWatch(module, names)
    loss.backward()
    step["grads"] = {name: describe(gradient_of(module, name)) for name in names}
    if missed := watch.not_from_autograd():
        step["not_autograd"] = missed
    where["phase"] = "update"
    module.update(lr)
    step["params"] = {name: describe(getattr(module, name, None)) for name in names}
    step["grads_after"] = {name: describe(gradient_of(module, name)) for name in names}
    faults = {name: parameter_fault(getattr(module, name, None)) for name in names}
    if any(faults.values()):
        step["faults"] = {name: fault for name, fault in faults.items() if fault}
        raise StopCase("parameter_fault")


def error_record(error: BaseException, source_lines: list[str], phase: str, step: int | None) -> dict[str, Any]:
    """The exception as the student should see it: their own line, not the harness's frames."""
    # lookup_lines=False: the student's text comes from source_lines; reading every file of the
    # traceback (harness, torch) would only cost milliseconds.
    summary = traceback.StackSummary.extract(traceback.walk_tb(error.__traceback__), lookup_lines=False)
    frames = [f for f in summary if f.filename == SUBMISSION_FILENAME]
    line = frames[-1].lineno if frames else None
    if isinstance(error, SyntaxError) and error.filename == SUBMISSION_FILENAME:
        line = error.lineno
    text = source_lines[line - 1].strip() if line and 0 < line <= len(source_lines) else None
    return {
        "phase": phase,
        "step": step,
        "type": _type_name(error),
        "message": _safe_str(error)[:MAX_MESSAGE_CHARS],
        "line": line,
        "function": frames[-1].name[:MAX_NAME_CHARS] if frames else None,
        "text": text[:MAX_MESSAGE_CHARS] if text else None,
        "errno": error.errno if isinstance(error, OSError) and isinstance(error.errno, int) else None,
    }


def _type_name(value: Any) -> str:
    return type(value).__name__[:MAX_NAME_CHARS]


def _safe_str(error: BaseException) -> str:
    try:
        return str(error)
    except Exception:  # a hostile __str__ must not take the harness down
        return "<message could not be shown>"


def load_submission(source: str) -> tuple[types.ModuleType | None, dict[str, Any]]:
    source_lines = source.splitlines()
    try:
        code = compile(source, SUBMISSION_FILENAME, "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as error:
        return None, {"ok": False, **error_record(error, source_lines, "compile", None), "offset": getattr(error, "offset", None)}
    module = types.ModuleType("submission")
    module.__file__ = SUBMISSION_FILENAME
    sys.modules["submission"] = module
    try:
        exec(code, module.__dict__)
    except BaseException as error:
        return None, {"ok": False, **error_record(error, source_lines, "import", None)}
    return module, {"ok": True}


def contract_problems(module: types.ModuleType, functions: dict[str, list[str]], parameters: dict[str, list[int]]) -> list[dict[str, Any]]:
    """What the module lacks to be driven at all: names, callables, signatures, tensors."""
    problems: list[dict[str, Any]] = []
    for name, args in functions.items():
        function = getattr(module, name, None)
        if function is None:
            problems.append({"kind": "missing_function", "name": name, "args": args})
        elif not callable(function):
            problems.append({"kind": "not_callable", "name": name, "type": _type_name(function)})
        elif not _accepts(function, len(args)):
            code = getattr(function, "__code__", None)
            problems.append(
                {"kind": "signature", "name": name, "args": args, "actual": _signature_text(function)[:MAX_MESSAGE_CHARS], "line": code.co_firstlineno if code else None}
            )
    for name in parameters:
        if not hasattr(module, name):
            problems.append({"kind": "missing_parameter", "name": name})
        elif not isinstance(getattr(module, name), torch.Tensor):
            problems.append({"kind": "parameter_type", "name": name, "type": _type_name(getattr(module, name))})
    return problems


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
    except (TypeError, ValueError):
        return repr(function)


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


def run_job(job: dict[str, Any]) -> dict[str, Any]:
    """Load the submission, check its contract, run every case: visible ones first."""
    torch.set_num_threads(1)
    torch.manual_seed(0)
    trace: dict[str, Any] = {"format": TRACE_FORMAT, "load": None, "contract": [], "cases": []}
    module, trace["load"] = load_submission(job["source"])
    if module is None:
        return trace
    trace["contract"] = contract_problems(module, job["functions"], job["parameters"])
    if trace["contract"]:
        return trace
    source_lines = job["source"].splitlines()
    run = run_calls if job.get("driver") == "calls" else run_case
    for case in sorted(job["cases"], key=lambda c: c["hidden"]):
        if case["hidden"]:
            silence_output()
        trace["cases"].append(run(module, case, source_lines))
    return trace


def write_frame(fd: int, nonce: str, trace: dict[str, Any]) -> None:
    """`<nonce> <length>\\n<json>`: the parent takes the last well-formed frame with its nonce."""
    body = json.dumps(trace, allow_nan=True, separators=(",", ":")).encode()
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
        write_frame(result_fd, job["nonce"], trace)
    os._exit(0)  # no student atexit handler or thread gets to run after the traces are out


def read_jobs(stream: Any) -> Iterator[dict[str, Any]]:
    """Jobs framed as `<length>\\n<json>`, until the grader closes the stream."""
    while header := stream.readline():
        yield json.loads(stream.read(int(header)))
