"""The `function` kind in the sandbox: the student's Function applied to a case's inputs, then its backward.

Mounted into the sandbox with the harness: standard library, torch, the trace types and the
recording primitives only. Everything runs in float64, so that the comparison on the trusted
side measures the student's formulas, not rounding.
"""

from __future__ import annotations

import types

import torch

from grader.drivers.function.trace import Case, CaseRecord, Input
from grader.record import describe, error_record

CASE_TYPE = Case
# Captured when the loop is imported, before any student code runs: what computes the gradients
# from the student's backward, which a submission could replace to hand in gradients of its own.
_GRAD = torch.autograd.grad


def tensor(value: Input, requires_grad: bool = False) -> torch.Tensor:
    return torch.tensor(value.values, dtype=torch.float64).reshape(value.shape).requires_grad_(requires_grad)


def run_case(module: types.ModuleType, case: Case, source_lines: list[str]) -> CaseRecord:
    """`apply` on fresh leaf inputs, then `torch.autograd.grad` from the case's output gradient.

    The gradients come from the student's own backward: autograd calls it with grad_output and
    checks only the count and shapes of what it returns. Whether `apply` really made the output
    (its `grad_fn` is the class's backward node) is judged on the trusted side.
    """
    record = CaseRecord(name=case.name)
    inputs = {name: tensor(value, requires_grad=True) for name, value in case.inputs.items()}
    versions = {name: x._version for name, x in inputs.items()}
    phase = "forward"
    try:
        output = getattr(module, case.function).apply(*inputs.values())
        record.output = describe(output)
        record.changed = [name for name, x in inputs.items() if x._version != versions[name]]
        if not isinstance(output, torch.Tensor):
            record.stopped = "output_not_tensor"
            return record
        if list(output.shape) != case.grad_output.shape:
            record.stopped = "output_shape"
            return record
        phase = "backward"
        grads = _GRAD(output, list(inputs.values()), tensor(case.grad_output), allow_unused=True)
        record.grads = {name: describe(grad) for name, grad in zip(inputs, grads)}
    except BaseException as error:  # student code may raise anything, SystemExit included
        record.error = error_record(error, source_lines, phase, None)
    return record
