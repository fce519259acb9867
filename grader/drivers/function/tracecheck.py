"""What a decoded `function` record must also hold before the judge reads it: the job's inputs,
gradients only after a forward that produced a tensor, numbers that agree with their shapes."""

from __future__ import annotations

from grader.drivers.function.trace import Case, CaseRecord
from grader.trace import consistent


def case_problem(record: CaseRecord, case: Case) -> str | None:
    if not set(record.changed) <= set(case.inputs):
        return "inputs changed that the case does not have"
    if record.grads is not None:
        if set(record.grads) != set(case.inputs):
            return "gradients of other inputs than the case's"
        if record.output is None or record.stopped or record.error:
            return "gradients without a finished forward"
    values = [record.output] if record.output is not None else []
    values += list((record.grads or {}).values())
    return None if all(consistent(value) for value in values) else "a value whose numbers do not match its shape"
