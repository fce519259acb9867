"""What the sandbox side records of student code: values as plain facts, exceptions as their line.

Shared by the harness and every kind's loop, in the process that runs student code: standard
library, torch and the trace types only. Called several times per training step, so describing
a value builds no new tensor.
"""

from __future__ import annotations

import numbers
import traceback
from typing import Any

import torch

from grader.trace import (
    MAX_DIMS,
    MAX_ERRNO,
    MAX_MESSAGE_CHARS,
    MAX_NAME_CHARS,
    MAX_RECORDED_VALUES,
    Error,
    Nothing,
    Number,
    Other,
    Tensor,
    Value,
)

SUBMISSION_FILENAME = "submission.py"


def describe(value: Any) -> Value:
    """Plain facts about whatever student code handed back.

    `tolist` reads a tensor that requires grad without touching the graph, and float32 values
    are exact as Python floats.
    """
    if isinstance(value, torch.Tensor) and value.dim() > MAX_DIMS:
        return Other(type=f"tensor of {value.dim()} dimensions")
    if isinstance(value, torch.Tensor):
        grad_fn = value.grad_fn
        return Tensor(
            shape=list(value.shape),
            dtype=str(value.dtype).removeprefix("torch."),
            values=[] if value.is_complex() else flat_values(value),
            requires_grad=bool(value.requires_grad),
            is_leaf=bool(value.is_leaf),
            grad_fn=type_name(grad_fn) if grad_fn is not None else None,
        )
    if value is None:
        return Nothing()
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return Number(type=type_name(value), value=float(value))
    return Other(type=type_name(value))


def flat_values(tensor: torch.Tensor) -> list[Any]:
    """A tensor's first MAX_RECORDED_VALUES values, flat, as Python numbers."""
    if tensor.dtype == torch.bool:
        tensor = tensor.detach().to(torch.float64)  # numbers, not true/false
    if tensor.numel() > MAX_RECORDED_VALUES:
        return tensor.detach().reshape(-1)[:MAX_RECORDED_VALUES].tolist()
    values = tensor.tolist()
    if tensor.dim() == 0:
        return [values]
    for _ in range(tensor.dim() - 1):
        values = [item for row in values for item in row]
    return values


def error_record(error: BaseException, source_lines: list[str], phase: str, step: int | None) -> Error:
    """The exception as the student should see it: their own line, not the harness's frames."""
    # lookup_lines=False: the student's text comes from source_lines; reading every file of the
    # traceback (harness, torch) would only cost milliseconds.
    summary = traceback.StackSummary.extract(traceback.walk_tb(error.__traceback__), lookup_lines=False)
    frames = [f for f in summary if f.filename == SUBMISSION_FILENAME]
    line = frames[-1].lineno if frames else None
    if isinstance(error, SyntaxError) and error.filename == SUBMISSION_FILENAME:
        line = error.lineno
    text = source_lines[line - 1].strip() if line and 0 < line <= len(source_lines) else None
    number = _errno(error)
    return Error(
        phase=phase,
        step=step,
        type=type_name(error),
        message=text_of(_safe_str(error), MAX_MESSAGE_CHARS),
        line=line,
        function=text_of(frames[-1].name, MAX_NAME_CHARS) if frames else None,
        text=text_of(text, MAX_MESSAGE_CHARS) if text else None,
        errno=number if number is not None and -MAX_ERRNO <= number <= MAX_ERRNO else None,
    )


def type_name(value: Any) -> str:
    return text_of(type(value).__name__, MAX_NAME_CHARS)


def text_of(text: str, limit: int) -> str:
    """Text a frame can carry: a plain str of at most `limit` characters, valid Unicode (a lone
    surrogate, which student code can put in any string, becomes "?"). Read with str's own
    methods: a subclass of str may override them."""
    return str.encode(str.__getitem__(text, slice(0, limit)), "utf-8", errors="replace").decode("utf-8")


def _errno(error: BaseException) -> int | None:
    try:
        number = error.errno if isinstance(error, OSError) else None
    except Exception:  # a hostile property
        return None
    return number if type(number) is int else None


def _safe_str(error: BaseException) -> str:
    try:
        text = str(error)
    except Exception:  # a hostile __str__ must not take the harness down
        return "<message could not be shown>"
    return text if isinstance(text, str) else "<message could not be shown>"
