"""Checks a trace that came out of the sandbox before anything trusts its shape.

The trace is written in the same process as student code, and student code can find the
job's nonce in memory and forge a frame. Numbers it forges are judged like any others (they
must follow the reference's own transitions), but a malformed structure must not reach the
comparison code as a grader crash: it is refused here, and the submission ends as `forbidden`.

The structure is a set of typed dicts that msgspec checks while it decodes the frame, in C: a
trace holds thousands of values, and decoding plus checking it this way costs a fraction of
`json.loads` followed by a JSON Schema validator. Unknown keys are dropped by the decoder;
numbers become floats, and one beyond a float's range (a 400-digit integer) is refused. What
the types do not say is checked after them: the fields of each kind of value and of each
contract problem, lengths that agree with shapes, case names that match the job, the very
parameters of the job in every step, steps recorded in the harness's order (loss, gradients,
parameters, gradients after), an unfinished step only at the end of a case that says why.
Whatever passes can be judged without an exception; whatever does not is the student's outcome.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Iterator
from typing import Annotated, Any, Literal, NotRequired, Required, TypedDict

import msgspec

from grader.harness import MAX_DEPTH, MAX_ITEMS, MAX_MESSAGE_CHARS, MAX_NAME_CHARS, MAX_RECORDED_VALUES, TRACE_FORMAT

Name = Annotated[str, msgspec.Meta(max_length=MAX_NAME_CHARS)]
Message = Annotated[str, msgspec.Meta(max_length=MAX_MESSAGE_CHARS)]
MAX_COUNT = 2**31  # a line, a step, a dimension: far beyond any real one, small enough to compute with
Count = Annotated[int, msgspec.Meta(ge=0, le=MAX_COUNT)]
STEP_FIELDS = ("loss", "grads", "params", "grads_after")  # the order the harness records them in


class Value(TypedDict, total=False):
    kind: Required[Literal["tensor", "number", "none", "other"]]
    shape: Annotated[list[Count], msgspec.Meta(max_length=8)]
    dtype: Name
    values: Annotated[list[float], msgspec.Meta(max_length=MAX_RECORDED_VALUES)]
    requires_grad: bool
    is_leaf: bool
    grad_fn: Name | None
    type: Name


FIELDS_BY_KIND = {
    "tensor": {"kind", "shape", "dtype", "values", "requires_grad", "is_leaf", "grad_fn"},
    "number": {"kind", "type", "shape", "values"},
    "other": {"kind", "type"},
    "none": {"kind"},
}
ValuesByName = Annotated[dict[str, Value], msgspec.Meta(max_length=64)]
Fault = Literal["not_tensor", "integer_dtype", "lost_requires_grad", "non_leaf"]


class Error(TypedDict):
    phase: Name
    step: Count | None
    type: Name
    message: Message
    line: Count | None
    function: Name | None
    text: Message | None
    errno: NotRequired[int | None]


class Step(TypedDict, total=False):
    epoch: Required[Count]
    sample: Required[Count]
    loss: Value
    grads: ValuesByName
    params: ValuesByName
    grads_after: ValuesByName
    faults: dict[str, Fault]
    not_autograd: Annotated[list[Name], msgspec.Meta(max_length=64)]


class Case(TypedDict):
    name: Name
    probe: list[Value]
    steps: list[Step]
    prediction: Value | None
    stopped: Literal["detached_loss", "parameter_fault"] | None
    error: Error | None


class Problem(TypedDict, total=False):
    kind: Required[Literal["missing_function", "not_callable", "signature", "missing_parameter", "parameter_type"]]
    name: Required[Name]
    args: Annotated[list[Name], msgspec.Meta(max_length=64)]
    type: Name
    actual: Message | None
    line: Count | None


PROBLEM_FIELDS = {
    "missing_function": {"kind", "name", "args"},
    "not_callable": {"kind", "name", "type"},
    "signature": {"kind", "name", "args", "actual", "line"},
    "missing_parameter": {"kind", "name"},
    "parameter_type": {"kind", "name", "type"},
}
Problems = Annotated[list[Problem], msgspec.Meta(max_length=64)]


class Load(TypedDict, total=False):
    ok: Required[bool]
    phase: Name
    step: Count | None
    type: Name
    message: Message
    line: Count | None
    function: Name | None
    text: Message | None
    errno: int | None
    offset: Count | None


class Trace(TypedDict):
    format: Literal[TRACE_FORMAT]  # type: ignore[valid-type]
    load: Load
    contract: Problems
    cases: list[Case]


class Call(TypedDict, total=False):
    value: dict[str, Any]  # a described value: checked by `_returned_problem`
    error: Error


class CallsCase(TypedDict):
    name: Name
    calls: Annotated[dict[Name, Call], msgspec.Meta(max_length=64)]


class CallsTrace(TypedDict):
    format: Literal[TRACE_FORMAT]  # type: ignore[valid-type]
    load: Load
    contract: Problems
    cases: list[CallsCase]


class CheckedTrace(dict):
    """A training trace whose structure was checked as it was decoded: `trace_problem` need not check it again."""


class CheckedCallsTrace(dict):
    """The same for a trace of the `calls` driver."""


class MalformedTrace(dict):
    """A frame that decodes but fits neither kind of trace: empty, with why, for each driver."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__()
        self.problems = problems


_DECODERS = {"train": (msgspec.json.Decoder(Trace), CheckedTrace), "calls": (msgspec.json.Decoder(CallsTrace), CheckedCallsTrace)}
_TYPES = {"train": Trace, "calls": CallsTrace}


def decode_trace(body: bytes) -> dict[str, Any]:
    """The frame's trace, its structure checked; ValueError when it is not JSON that can be read.

    A frame that decodes but fits no trace comes back as a `MalformedTrace`, so that
    `trace_problem` refuses it and names what is wrong. JSON has no NaN or Infinity, which
    Python's json writes for a student's diverging loss: such a frame takes the slower stdlib path.
    A frame nested deeper than a parser's recursion is not readable JSON.
    """
    try:
        return _decoded(body)
    except RecursionError:
        raise ValueError("a frame nested too deep to read") from None


def _decoded(body: bytes) -> dict[str, Any]:
    problems = {}
    for driver, (decoder, checked) in _DECODERS.items():
        try:
            return checked(decoder.decode(body))
        except msgspec.ValidationError as error:
            problems[driver] = str(error)
        except msgspec.DecodeError:
            return _converted(json.loads(body))
    return MalformedTrace(problems)


def _converted(trace: Any) -> dict[str, Any]:
    problems = {}
    for driver, (_, checked) in _DECODERS.items():
        try:
            return checked(msgspec.convert(trace, _TYPES[driver]))
        except msgspec.ValidationError as error:
            problems[driver] = str(error)
    return MalformedTrace(problems)


def trace_problem(trace: Any, job: dict[str, Any]) -> str | None:
    """What is wrong with this trace for this job, or None when it can be judged."""
    driver = "calls" if job.get("driver") == "calls" else "train"
    if isinstance(trace, MalformedTrace):
        return trace.problems[driver]
    if isinstance(trace, dict) and set(trace) == {"unreadable"}:  # grader.frames could not read the frame
        return f"an unreadable frame: {trace['unreadable']}"
    if not isinstance(trace, _DECODERS[driver][1]):
        try:
            msgspec.convert(trace, _TYPES[driver])
        except msgspec.ValidationError as error:
            return str(error)
    if not trace["load"]["ok"] and not set(Error.__required_keys__) <= set(trace["load"]):
        return "a failed load without its error"
    if any(set(problem) != PROBLEM_FIELDS[problem["kind"]] for problem in trace["contract"]):
        return "a contract problem without its fields"
    ran_cases = trace["load"]["ok"] and not trace["contract"]
    expected_names = [case["name"] for case in job["cases"]] if ran_cases else []
    if [case["name"] for case in trace["cases"]] != expected_names:
        return "its cases are not the cases of the job"
    cases = {case["name"]: case for case in job["cases"]}
    for record in trace["cases"]:
        case = cases[record["name"]]
        problem = _calls_case_problem(record, case) if driver == "calls" else _case_problem(record, case, set(job["parameters"]))
        if problem:
            return f"case {case['name']}: {problem}"
    return None


def _case_problem(record: dict[str, Any], case: dict[str, Any], parameters: set[str]) -> str | None:
    samples = len(case["x"]) if case["batch"] == "sample" else 1
    if len(record["probe"]) > samples or len(record["steps"]) > case["epochs"] * samples:
        return "more steps than the case has"
    for position, step in enumerate(record["steps"]):
        if step["epoch"] >= case["epochs"] or step["sample"] >= samples:
            return "a step outside the case"
        problem = _step_problem(step, parameters, is_last=position == len(record["steps"]) - 1, record=record)
        if problem:
            return f"step {position + 1}: {problem}"
    if (record["stopped"] == "parameter_fault") != bool(record["steps"] and record["steps"][-1].get("faults")):
        return "a parameter fault without its step, or the reverse"
    for value in _values(record):
        if not _consistent(value):
            return "a value whose numbers do not match its shape"
    return None


def _step_problem(step: dict[str, Any], parameters: set[str], is_last: bool, record: dict[str, Any]) -> str | None:
    """A step as the harness records it: its fields in order, every parameter of the job in each,
    unfinished or faulty only as the last step of a case that ends there, for that reason."""
    present = [field for field in STEP_FIELDS if field in step]
    if present != list(STEP_FIELDS[: len(present)]):
        return "fields out of the harness's order"
    if any(set(step[field]) != parameters for field in present[1:]):
        return "not the parameters of the job"
    finished = len(present) == len(STEP_FIELDS)
    faults = step.get("faults", {})
    if faults and not finished:
        return "faults of an unfinished step"
    if (not finished or faults) and not (is_last and (record["error"] or record["stopped"])):
        return "an unfinished or faulty step that does not end its case"
    if not faults.keys() <= parameters:
        return "faults of unknown parameters"
    if "not_autograd" in step and ("grads" not in step or not set(step["not_autograd"]) <= parameters):
        return "gradients not from autograd of no recorded gradients"
    if finished and any((faults.get(name) == "not_tensor") != (step["params"][name]["kind"] != "tensor") for name in parameters):
        return "a parameter whose value and fault disagree on whether it is a tensor"
    return None


def _values(record: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield from record["probe"]
    if record["prediction"] is not None:
        yield record["prediction"]
    for step in record["steps"]:
        if "loss" in step:
            yield step["loss"]
        for field in ("grads", "params", "grads_after"):
            yield from step.get(field, {}).values()


def _consistent(value: dict[str, Any]) -> bool:
    if value.keys() != FIELDS_BY_KIND[value["kind"]]:
        return False
    if value["kind"] == "number":
        return value["shape"] == [] and len(value["values"]) == 1
    if value["kind"] != "tensor":
        return True
    if "complex" in value["dtype"]:
        return value["values"] == []
    return len(value["values"]) == min(math.prod(value["shape"]), MAX_RECORDED_VALUES)


def _calls_case_problem(record: dict[str, Any], case: dict[str, Any]) -> str | None:
    if set(record["calls"]) != set(case["args"]):
        return "its calls are not the functions of the job"
    for name, call in record["calls"].items():
        if len(call) != 1:
            return f"call {name} has both or neither of a value and an error"
        problem = _returned_problem(call["value"], 0) if "value" in call else None
        if problem:
            return f"call {name}: {problem}"
    return None


RETURNED_FIELDS = {
    **FIELDS_BY_KIND,
    "bool": {"kind", "value"},
    "str": {"kind", "value"},
    "sequence": {"kind", "items", "length"},
    "ndarray": {"kind", "shape", "dtype", "values"},
}


def _returned_problem(value: Any, depth: int) -> str | None:
    """What is wrong with a described return value (`harness.describe_returned`), or None."""
    kind = value.get("kind") if isinstance(value, dict) else None
    if not isinstance(kind, str) or kind not in RETURNED_FIELDS or set(value) != RETURNED_FIELDS[kind]:
        return "a value of unknown form"
    if kind in FIELDS_BY_KIND:
        try:
            checked = msgspec.convert(value, Value)
        except msgspec.ValidationError as error:
            return str(error)
        return None if _consistent(checked) else "a value whose numbers do not match its shape"
    if kind in ("bool", "str"):
        if not isinstance(value["value"], bool if kind == "bool" else str):
            return f"a {kind} that is not one"
        return "a string too long" if kind == "str" and len(value["value"]) > MAX_MESSAGE_CHARS else None
    if kind == "sequence":
        items, length = value["items"], value["length"]
        bounded = isinstance(items, list) and type(length) is int and len(items) == min(length, MAX_ITEMS) and length <= MAX_COUNT
        if depth >= MAX_DEPTH or not bounded:
            return "a sequence out of bounds"
        return next((p for p in (_returned_problem(item, depth + 1) for item in items) if p), None)
    shape, values = value["shape"], value["values"]
    shaped = isinstance(shape, list) and len(shape) <= 8 and all(type(n) is int and 0 <= n <= MAX_COUNT for n in shape)
    if not shaped or not isinstance(value["dtype"], str) or len(value["dtype"]) > MAX_NAME_CHARS:
        return "an array of unknown form"
    if not isinstance(values, list) or len(values) > MAX_RECORDED_VALUES or not all(_is_number(v) for v in values):
        return "an array of unknown form"
    return None if len(values) == min(math.prod(shape), MAX_RECORDED_VALUES) else "an array whose numbers do not match its shape"


def _is_number(value: Any) -> bool:
    """A float, or an int that a float can hold (the judges compute with floats)."""
    return type(value) is float or (type(value) is int and abs(value) <= sys.float_info.max)
