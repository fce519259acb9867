"""The `function` kind's cases as the loop takes them: every value drawn, as float64 numbers."""

from __future__ import annotations

from typing import Any

import torch

from grader.declared import tensor_from
from grader.drivers.function.spec import CaseSpec
from grader.drivers.function.trace import Case, Input
from grader.spec import Exercise


def materialize_case(case: CaseSpec) -> Case:
    generator = torch.Generator().manual_seed(case.seed)
    inputs = {name: _input(value, generator) for name, value in case.inputs.items()}
    return Case(name=case.name, hidden=case.hidden, function=case.function, inputs=inputs, grad_output=_input(case.grad_output, generator))


def _input(value: Any, generator: torch.Generator) -> Input:
    tensor = tensor_from(value, generator, torch.float64)
    return Input(shape=list(tensor.shape), values=tensor.reshape(-1).tolist())


def job_cases(exercise: Exercise) -> list[Case]:
    return [materialize_case(case) for case in exercise.cases]
