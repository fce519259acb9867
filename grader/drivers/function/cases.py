"""The `function` kind's cases as the loop takes them: every value drawn, as float64 numbers."""

from __future__ import annotations

from typing import Any

import torch

from grader.drivers.function.spec import CaseSpec
from grader.drivers.function.trace import Case, Input
from grader.spec import Exercise


def materialize_case(case: CaseSpec) -> Case:
    generator = torch.Generator().manual_seed(case.seed)
    inputs = {name: _input(value, generator) for name, value in case.inputs.items()}
    return Case(name=case.name, hidden=case.hidden, function=case.function, inputs=inputs, grad_output=_input(case.grad_output, generator))


def _input(value: Any, generator: torch.Generator) -> Input:
    if isinstance(value, dict) and "randn" in value:
        tensor = torch.randn(*value["randn"], generator=generator, dtype=torch.float64)
    elif isinstance(value, dict):
        tensor = (torch.ones if value["fill"] == "ones" else torch.zeros)(*value["shape"], dtype=torch.float64)
    else:
        tensor = torch.tensor(value, dtype=torch.float64)
    return Input(shape=list(tensor.shape), values=tensor.reshape(-1).tolist())


def job_cases(exercise: Exercise) -> list[Case]:
    return [materialize_case(case) for case in exercise.cases]
