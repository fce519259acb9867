"""Checks a trace that came out of the sandbox before anything trusts its shape.

The trace is written in the same process as student code, and student code can find the
job's nonce in memory and forge a frame. Numbers it forges are judged like any others (they
must follow the reference's own transitions), but a malformed structure must not reach the
comparison code as a grader crash: it is refused here, and the submission ends as `forbidden`.

The structure is a JSON Schema (validated by fastjsonschema, compiled once). It keeps to plain
types, properties and enums: fastjsonschema's `anyOf` and `if` cost milliseconds per value, and
a trace has thousands. What the schema does not say (the fields of each kind of value, lengths
that agree with shapes, case names that match the job) is checked after it.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterator
from typing import Any

import fastjsonschema

from grader.harness import MAX_MESSAGE_CHARS, MAX_RECORDED_VALUES, TRACE_FORMAT

NAME = {"type": "string", "maxLength": 200}
OPTIONAL_NAME = {"type": ["string", "null"], "maxLength": 200}
MESSAGE = {"type": ["string", "null"], "maxLength": MAX_MESSAGE_CHARS}
COUNT = {"type": ["integer", "null"], "minimum": 0}

VALUE = {
    "type": "object",
    "required": ["kind"],
    "properties": {
        "kind": {"enum": ["tensor", "number", "none", "other"]},
        "shape": {"type": "array", "items": {"type": "integer", "minimum": 0}, "maxItems": 8},
        "dtype": NAME,
        "values": {"type": "array", "items": {"type": "number"}, "maxItems": MAX_RECORDED_VALUES},
        "requires_grad": {"type": "boolean"},
        "is_leaf": {"type": "boolean"},
        "grad_fn": OPTIONAL_NAME,
        "type": NAME,
    },
    "additionalProperties": False,
}
FIELDS_BY_KIND = {
    "tensor": {"kind", "shape", "dtype", "values", "requires_grad", "is_leaf", "grad_fn"},
    "number": {"kind", "type", "shape", "values"},
    "other": {"kind", "type"},
    "none": {"kind"},
}
VALUES_BY_NAME = {"type": "object", "additionalProperties": VALUE, "maxProperties": 64}
ERROR = {
    "type": "object",
    "required": ["phase", "step", "type", "message", "line", "function", "text"],
    "properties": {
        "phase": NAME,
        "step": COUNT,
        "type": NAME,
        "message": MESSAGE,
        "line": COUNT,
        "function": OPTIONAL_NAME,
        "text": MESSAGE,
        "errno": {"type": ["integer", "null"]},
    },
    "additionalProperties": False,
}
STEP = {
    "type": "object",
    "required": ["epoch", "sample"],
    "properties": {
        "epoch": {"type": "integer", "minimum": 0},
        "sample": {"type": "integer", "minimum": 0},
        "loss": VALUE,
        "grads": VALUES_BY_NAME,
        "params": VALUES_BY_NAME,
        "grads_after": VALUES_BY_NAME,
        "faults": {"type": "object", "additionalProperties": {"enum": ["not_tensor", "integer_dtype", "lost_requires_grad", "non_leaf"]}},
    },
    "additionalProperties": False,
}
CASE = {
    "type": "object",
    "required": ["name", "probe", "steps", "prediction", "stopped", "error"],
    "properties": {
        "name": NAME,
        "probe": {"type": "array", "items": VALUE},
        "steps": {"type": "array", "items": STEP},
        "prediction": {**VALUE, "type": ["object", "null"]},
        "stopped": {"enum": [None, "detached_loss", "parameter_fault"]},
        "error": {**ERROR, "type": ["object", "null"]},
    },
    "additionalProperties": False,
}
PROBLEM = {
    "type": "object",
    "required": ["kind", "name"],
    "properties": {
        "kind": {"enum": ["missing_function", "not_callable", "signature", "missing_parameter", "parameter_type"]},
        "name": NAME,
        "args": {"type": "array", "items": NAME},
        "type": NAME,
        "actual": MESSAGE,
        "line": COUNT,
    },
    "additionalProperties": False,
}
LOAD = {
    "type": "object",
    "required": ["ok"],
    "properties": {**ERROR["properties"], "ok": {"type": "boolean"}, "offset": COUNT},
    "additionalProperties": False,
}
TRACE_SCHEMA = {
    "type": "object",
    "required": ["format", "load", "contract", "cases"],
    "properties": {
        "format": {"const": TRACE_FORMAT},
        "load": LOAD,
        "contract": {"type": "array", "items": PROBLEM},
        "cases": {"type": "array", "items": CASE},
    },
    "additionalProperties": False,
}


@functools.cache
def _validator() -> Callable[[Any], Any]:
    return fastjsonschema.compile(TRACE_SCHEMA)


def trace_problem(trace: Any, job: dict[str, Any]) -> str | None:
    """What is wrong with this trace for this job, or None when it can be judged."""
    try:
        _validator()(trace)
    except fastjsonschema.JsonSchemaException as error:
        return f"{error.message}"
    if not trace["load"]["ok"] and not set(ERROR["required"]) <= set(trace["load"]):
        return "a failed load without its error"
    ran_cases = trace["load"]["ok"] and not trace["contract"]
    expected_names = [case["name"] for case in job["cases"]] if ran_cases else []
    if [case["name"] for case in trace["cases"]] != expected_names:
        return "its cases are not the cases of the job"
    cases = {case["name"]: case for case in job["cases"]}
    for case in trace["cases"]:
        problem = _case_problem(case, cases[case["name"]], set(job["parameters"]))
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
            if not set(step.get(field, {})) <= parameters:
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
    if set(value) != FIELDS_BY_KIND[value["kind"]]:
        return False
    if value["kind"] == "number":
        return value["shape"] == [] and len(value["values"]) == 1
    if value["kind"] != "tensor":
        return True
    if "complex" in value["dtype"]:
        return value["values"] == []
    return len(value["values"]) == min(math.prod(value["shape"]), MAX_RECORDED_VALUES)
