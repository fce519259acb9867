"""Checks a trace that came out of the sandbox before anything trusts its shape.

The trace is written in the same process as student code, and student code can find the
job's nonce in memory and forge a frame. Numbers it forges are judged like any others (they
must follow the reference's own transitions), but a malformed structure must not reach the
comparison code as a grader crash: it is refused here, and the submission ends as `forbidden`.

The structure is a set of typed dicts that msgspec checks while it decodes the frame, in C: a
trace holds thousands of values, and decoding plus checking it this way costs a fraction of
`json.loads` followed by a JSON Schema validator. Unknown keys are dropped by the decoder.
What the types do not say (the fields of each kind of value, lengths that agree with shapes,
case names that match the job) is checked after them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Annotated, Any, Literal, NotRequired, Required, TypedDict

import msgspec

from grader.harness import MAX_DEPTH, MAX_ITEMS, MAX_MESSAGE_CHARS, MAX_RECORDED_VALUES, TRACE_FORMAT

Name = Annotated[str, msgspec.Meta(max_length=200)]
Message = Annotated[str, msgspec.Meta(max_length=MAX_MESSAGE_CHARS)]
Count = Annotated[int, msgspec.Meta(ge=0)]


class Value(TypedDict, total=False):
    kind: Required[Literal["tensor", "number", "none", "other"]]
    shape: Annotated[list[Count], msgspec.Meta(max_length=8)]
    dtype: Name
    values: Annotated[list[int | float], msgspec.Meta(max_length=MAX_RECORDED_VALUES)]
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
    message: Message | None
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
    args: list[Name]
    type: Name
    actual: Message | None
    line: Count | None


class Load(TypedDict, total=False):
    ok: Required[bool]
    phase: Name
    step: Count | None
    type: Name
    message: Message | None
    line: Count | None
    function: Name | None
    text: Message | None
    errno: int | None
    offset: Count | None


class Trace(TypedDict):
    format: Literal[TRACE_FORMAT]  # type: ignore[valid-type]
    load: Load
    contract: list[Problem]
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
    contract: list[Problem]
    cases: list[CallsCase]


class CheckedTrace(dict):
    """A trace whose structure was checked as it was decoded: `trace_problem` need not check it again."""


_DECODER = msgspec.json.Decoder(Trace)


def decode_trace(body: bytes) -> dict[str, Any]:
    """The frame's trace, checked when it can be; ValueError when it is not JSON at all.

    A trace that fails the structural check comes back unchecked, so that `trace_problem` names
    what is wrong. JSON has no NaN or Infinity, which Python's json writes for a student's
    diverging loss: such a frame takes the slower stdlib path.
    """
    try:
        return CheckedTrace(_DECODER.decode(body))
    except msgspec.ValidationError:
        return json.loads(body)
    except msgspec.DecodeError:
        trace = json.loads(body)
    try:
        return CheckedTrace(msgspec.convert(trace, Trace))
    except msgspec.ValidationError:
        return trace


def trace_problem(trace: Any, job: dict[str, Any]) -> str | None:
    """What is wrong with this trace for this job, or None when it can be judged."""
    calls = job.get("driver") == "calls"
    if calls or not isinstance(trace, CheckedTrace):
        try:
            msgspec.convert(trace, CallsTrace if calls else Trace)
        except msgspec.ValidationError as error:
            return str(error)
    if not trace["load"]["ok"] and not set(Error.__required_keys__) <= set(trace["load"]):
        return "a failed load without its error"
    ran_cases = trace["load"]["ok"] and not trace["contract"]
    expected_names = [case["name"] for case in job["cases"]] if ran_cases else []
    if [case["name"] for case in trace["cases"]] != expected_names:
        return "its cases are not the cases of the job"
    cases = {case["name"]: case for case in job["cases"]}
    for record in trace["cases"]:
        case = cases[record["name"]]
        problem = _calls_case_problem(record, case) if calls else _case_problem(record, case, set(job["parameters"]))
        if problem:
            return f"case {case['name']}: {problem}"
    return None


def _case_problem(record: dict[str, Any], case: dict[str, Any], parameters: set[str]) -> str | None:
    samples = len(case["x"]) if case["batch"] == "sample" else 1
    if len(record["probe"]) > samples or len(record["steps"]) > case["epochs"] * samples:
        return "more steps than the case has"
    for step in record["steps"]:
        if step["epoch"] >= case["epochs"] or step["sample"] >= samples:
            return "a step outside the case"
        for field in ("grads", "params", "grads_after", "faults"):
            if not step.get(field, {}).keys() <= parameters:
                return f"{field} of unknown parameters"
    for value in _values(record):
        if not _consistent(value):
            return "a value whose numbers do not match its shape"
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
    if not isinstance(value, dict) or value.get("kind") not in RETURNED_FIELDS or set(value) != RETURNED_FIELDS[value["kind"]]:
        return "a value of unknown form"
    kind = value["kind"]
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
        bounded = isinstance(items, list) and len(items) <= MAX_ITEMS and isinstance(length, int) and length >= len(items)
        if depth >= MAX_DEPTH or not bounded:
            return "a sequence out of bounds"
        return next((p for p in (_returned_problem(item, depth + 1) for item in items) if p), None)
    shape, values = value["shape"], value["values"]
    shaped = isinstance(shape, list) and len(shape) <= 8 and all(isinstance(n, int) and n >= 0 for n in shape)
    if not shaped or not isinstance(value["dtype"], str):
        return "an array of unknown form"
    if not isinstance(values, list) or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return "an array of unknown form"
    return None if len(values) == min(math.prod(shape), MAX_RECORDED_VALUES) else "an array whose numbers do not match its shape"
