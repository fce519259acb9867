"""What a decoded `train` record must also hold before the judges read it.

The types have checked every field; this checks what they cannot say: no more steps than the
case has, every parameter of the job in each step, the fields of a step recorded in the loop's
order (loss, gradients, parameters, gradients after), an unfinished or faulty step only at the
end of a case that says why, and numbers that agree with their shapes.
"""

from __future__ import annotations

from collections.abc import Iterator

from grader.drivers.train.trace import STEP_FIELDS, Case, CaseRecord, Step
from grader.trace import Described, Tensor, consistent


def case_problem(record: CaseRecord, case: Case, parameters: set[str]) -> str | None:
    samples = len(case.x) if case.batch == "sample" else 1
    if len(record.probe) > samples or len(record.steps) > case.epochs * samples:
        return "more steps than the case has"
    for position, step in enumerate(record.steps):
        if step.epoch >= case.epochs or step.sample >= samples:
            return "a step outside the case"
        problem = _step_problem(step, parameters, ends_case=position == len(record.steps) - 1 and bool(record.error or record.stopped))
        if problem:
            return f"step {position + 1}: {problem}"
    if (record.stopped == "parameter_fault") != bool(record.steps and record.steps[-1].faults):
        return "a parameter fault without its step, or the reverse"
    if not all(consistent(value) for value in _values(record)):
        return "a value whose numbers do not match its shape"
    return None


def _step_problem(step: Step, parameters: set[str], ends_case: bool) -> str | None:
    present = [name for name in STEP_FIELDS if getattr(step, name) is not None]
    if present != list(STEP_FIELDS[: len(present)]):
        return "fields out of the loop's order"
    if any(set(getattr(step, name)) != parameters for name in present[1:]):
        return "not the parameters of the job"
    finished = len(present) == len(STEP_FIELDS)
    faults = step.faults or {}
    if faults and not finished:
        return "faults of an unfinished step"
    if (not finished or faults) and not ends_case:
        return "an unfinished or faulty step that does not end its case"
    if not faults.keys() <= parameters:
        return "faults of unknown parameters"
    if step.not_autograd is not None and (step.grads is None or not set(step.not_autograd) <= parameters):
        return "gradients not from autograd or no recorded gradients"
    if finished and step.params is not None and any((faults.get(n) == "not_tensor") != (not isinstance(step.params[n], Tensor)) for n in parameters):
        return "a parameter whose value and fault disagree on whether it is a tensor"
    return None


def _values(record: CaseRecord) -> Iterator[Described]:
    yield from record.probe
    if record.prediction is not None:
        yield record.prediction
    for step in record.steps:
        if step.loss is not None:
            yield step.loss
        for values in (step.grads, step.params, step.grads_after):
            yield from (values or {}).values()
