"""Names the classic autograd mistakes from where a trace first departs from the reference.

Real student bugs mostly run without an error and show in the first steps, so each known mistake
is a "mutant" of the reference step: accumulated gradients, a frozen or reversed step, a scaled
step, a scaled loss, an update that reads the wrong parameter. The first divergent transition is
matched against each; what the sandbox reported (the exception, whether the loss had a
`grad_fn`, whether a parameter stayed a leaf) settles the rest. Code that is numerically right
never reaches this module, so writing things differently is never diagnosed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from grader.drivers.train.compare import (
    CaseAnalysis,
    Mismatch,
    StepCheck,
    Values,
    is_close,
)
from grader.exceptions import EXCEPTION_MESSAGES, exception_diagnosis
from grader.formatting import format_number, format_values
from grader.report import Diagnosis
from grader.spec import Tolerance
from grader.trace import Number, Other, Tensor, numbers_of, shape_of

MESSAGES = {
    **EXCEPTION_MESSAGES,
    "missing_zero_grad": (
        "The gradient of {param} keeps growing: {where}, {param}.grad holds this step's gradient plus the "
        "previous one. PyTorch adds every backward() into .grad, so clear it after each update "
        "({param}.grad.zero_() or {param}.grad = None)."
    ),
    "no_update": (
        "{param} does not move: {where}, {param} after update(lr) is the same as before. Check that update "
        "really changes {param} (assign the result back) and that it does not zero the gradient before using it."
    ),
    "wrong_sign": (
        "{param} moves the wrong way: {where}, update(lr) adds lr * gradient instead of subtracting it. "
        "Gradient descent steps against the gradient: {param} - lr * {param}.grad."
    ),
    "wrong_learning_rate": (
        "The step of {param} is {factor} times what lr * gradient gives ({where}). Use the lr argument of "
        "update(lr) as it is, without extra factors."
    ),
    "fixed_learning_rate": (
        "update(lr) ignores its lr argument: with another learning rate, the step of {param} still uses the "
        "example's value. Use the lr that update receives; do not write the number in the code."
    ),
    "non_leaf_parameter": (
        "After update(lr), {param} is no longer a leaf tensor ({where}): it was rebound to the result of a "
        "computation, so it carries history and its .grad stays empty. Update the values in place "
        "({param}.data = ..., or {param} -= ... inside torch.no_grad())."
    ),
    "lost_requires_grad": (
        "After update(lr), {param} {what} ({where}), so the next loss is cut from the graph. Keep the same "
        "tensor and change its values ({param}.data = ... or an in-place update under torch.no_grad())."
    ),
    "wrong_forward": "forward(x) does not compute the model's formula: {detail}",
    "wrong_loss": (
        "loss(x, y) is not the squared error of your own prediction ({where}){values}. "
        "Check the formula: (forward(x) - y) squared."
    ),
    "wrong_gradient": (
        "After backward(), {param}.grad is not the gradient of your loss ({where}){values}. "
        "Do not change .grad by hand between backward() and update(lr)."
    ),
    "no_autograd": (
        "The gradient of {param} did not come from autograd ({where}): your code replaced backward() or .grad, or "
        "wrote {param}.grad itself. Let loss.backward() compute the gradients; that is what the exercise is about."
    ),
    "wrong_update": "update(lr) does not compute {param} - lr * {param}.grad ({where}): {detail}",
    "hardcoded_output": (
        "Your code is right on the visible example but not on hidden cases with other data, initial values or "
        "learning rate. It seems to rely on the example's own numbers (written into the code, or its own data "
        "or epochs) instead of the arguments it receives."
    ),
    "diverged": (
        "The training blew up: {what} became {value} {where}. The steps are far too large; check the "
        "learning rate and the sign of the update."
    ),
}
CODES = tuple(MESSAGES)


def diagnose(analyses: list[CaseAnalysis], tol: Tolerance, visible_lr: float | None) -> list[Diagnosis]:
    """One diagnosis per mistake found, visible cases first, each code at most once."""
    visible_passed = all(a.passed for a in analyses if not a.hidden)
    found: dict[str, Diagnosis] = {}
    for analysis in analyses:
        if analysis.passed:
            continue
        hidden_only = analysis.hidden and visible_passed
        for diagnosis in _diagnose_case(analysis, tol, hidden_only, visible_lr):
            found.setdefault(diagnosis.code, diagnosis)
    return list(found.values())


def _diagnose_case(analysis: CaseAnalysis, tol: Tolerance, hidden_only: bool, visible_lr: float | None) -> list[Diagnosis]:
    first = analysis.first
    assert first is not None
    context = _Context(analysis, tol)
    error = analysis.student.error
    if error and (first.quantity == "error" or (first.step is not None and first.step.index == error.step)):
        # The exception of the very step that departs is the root cause (a loss that reuses a
        # freed graph is also wrong in value, but the exception says why).
        found = [exception_diagnosis(error, hidden=analysis.hidden)]
    elif hidden_only:
        found = _hidden_only(context, first, visible_lr)
    else:
        found = _first_mismatch(context, first)
    return found + _divergence(context)


class _Context:
    def __init__(self, analysis: CaseAnalysis, tol: Tolerance) -> None:
        self.analysis = analysis
        self.tol = tol
        self.hidden = analysis.hidden

    def where(self, check: StepCheck | None) -> str:
        if check is None:
            return "before training"
        if self.hidden:
            return "in a hidden case"
        return f"at step {check.index} (epoch {check.epoch}, sample {check.sample})"

    def make(self, code: str, check: StepCheck | None = None, parameter: str | None = None, **fields: Any) -> Diagnosis:
        fields.setdefault("param", parameter or "a parameter")
        fields.setdefault("where", self.where(check))
        message = MESSAGES[code].format(**fields)
        step = None if self.hidden or check is None else check.index
        return Diagnosis(code, message, step=step, parameter=parameter, hidden=self.hidden)


def _first_mismatch(context: _Context, first: Mismatch) -> list[Diagnosis]:
    handlers = {
        "forward": _forward,
        "loss_graph": _loss_graph,
        "loss": _loss,
        "grad": _gradient,
        "no_autograd": _no_autograd,
        "fault": _fault,
        "shape": _shape,
        "param": _update,
        "prediction": _prediction,
    }
    handler = handlers.get(first.quantity)
    return handler(context, first) if handler else []


def _hidden_only(context: _Context, first: Mismatch, visible_lr: float | None) -> list[Diagnosis]:
    """Right on the visible example, wrong on a hidden case: a fixed lr, or hard-coded answers."""
    if first.quantity == "param" and first.step is not None and visible_lr is not None:
        check = first.step
        lr = context.analysis.case.lr
        for name in check.before:
            factor = _step_factor(_transitions(context, check, name), lr, context.tol)
            if factor is not None and math.isclose(factor * lr, visible_lr, rel_tol=1e-3):
                return [context.make("fixed_learning_rate", check, name)]
    found = _first_mismatch(context, first)
    if any(d.code in ("wrong_learning_rate", "wrong_sign", "no_update", "missing_zero_grad") for d in found):
        return found
    return [context.make("hardcoded_output")]


def _forward(context: _Context, first: Mismatch) -> list[Diagnosis]:
    analysis = context.analysis
    if not analysis.forward_shape_ok:
        got = next(shape_of(p) for p, r in zip(analysis.student.probe, analysis.reference.probe) if shape_of(p) != shape_of(r))
        want = shape_of(analysis.reference.probe[0])
        return [context.make("shape_mismatch", detail=f"forward(x) returns a tensor of shape {got}; the model's prediction has shape {want}.")]
    if first.actual is None:
        kind = next(_type_of(p) for p in analysis.student.probe if numbers_of(p) is None)
        return [context.make("wrong_forward", detail=f"it returns {_article(kind)}, not a tensor.")]
    if context.hidden:
        return [context.make("wrong_forward", detail="in a hidden case, its prediction is not the formula's value.")]
    detail = f"at the initial parameters it returns {_fmt(first.actual)} where the formula gives {_fmt(first.expected)}."
    return [context.make("wrong_forward", detail=detail)]


def _loss_graph(context: _Context, first: Mismatch) -> list[Diagnosis]:
    record = first.step.raw.loss if first.step else None
    if isinstance(record, Number):
        what = f"a plain Python {record.type} (did you call .item() or float()?)"
    elif isinstance(record, Tensor):
        what = "a tensor without grad_fn (cut by .detach(), torch.no_grad() or a new torch.tensor(...))"
    else:
        what = f"{_article(record.type if isinstance(record, Other) else 'nothing')} instead of a tensor"
    return [context.make("detached_loss", first.step, what=what)]


def _loss(context: _Context, first: Mismatch) -> list[Diagnosis]:
    check = first.step
    assert check is not None
    factor = _common_ratio(check.student_loss, check.expected_loss)
    grads = check.student_grads()
    grads_scaled = factor is not None and all(
        g is not None and is_close(g, [factor * e for e in check.expected_grads[n]], context.tol) for n, g in grads.items()
    )
    if factor is not None and grads_scaled and _is_count_ratio(factor):
        count = round(max(factor, 1 / factor))
        how = "summed instead of averaged" if factor > 1 else "averaged over more values than it should"
        detail = f"Your loss is {format_number(factor)} times the expected one ({context.where(check)}): the squared errors are {how} (there are {count} of them)."
        return [context.make("wrong_reduction", check, detail=detail)]
    return [context.make("wrong_loss", check, values=_values(check.expected_loss, check.student_loss, context.hidden))]


def _gradient(context: _Context, first: Mismatch) -> list[Diagnosis]:
    check = first.step
    assert check is not None
    found = []
    for name, got in check.student_grads().items():
        want = check.expected_grads[name]
        if check.grads_ok.get(name):
            continue
        if got is None:
            detail = f"{name}.grad is empty after backward(): {name} does not take part in the prediction ({context.where(check)})."
            found.append(context.make("wrong_forward", check, name, detail=detail))
        elif any(abs(v) > 0 for v in check.leftover[name]) and is_close(got, [a + b for a, b in zip(check.leftover[name], want)], context.tol):
            found.append(context.make("missing_zero_grad", check, name))
        elif (later := _first_loss_mismatch(context.analysis)) is not None:
            return _loss(context, Mismatch("loss", later, expected=later.expected_loss, actual=later.student_loss))
        else:
            found.append(context.make("wrong_gradient", check, name, values=_values(want, got, context.hidden)))
    return found[:1]


def _no_autograd(context: _Context, first: Mismatch) -> list[Diagnosis]:
    return [context.make("no_autograd", first.step, first.parameter)]


def _first_loss_mismatch(analysis: CaseAnalysis) -> StepCheck | None:
    """A loss formula can agree at one point and not elsewhere (|e| = e**2 at e = 1)."""
    return next((s for s in analysis.steps if s.loss_ok is False), None)


def _fault(context: _Context, first: Mismatch) -> list[Diagnosis]:
    check = first.step
    assert check is not None and first.parameter is not None
    name = first.parameter
    assert check.raw.faults is not None and check.raw.params is not None  # a fault is found on a finished step
    fault = check.raw.faults[name]
    record = check.raw.params[name]
    if fault == "non_leaf":
        return [context.make("non_leaf_parameter", check, name)]
    if fault == "integer_dtype":
        return [context.make("integer_dtype", check, name, param_or_tensor=f"After update(lr), {name}", detail=record.dtype if isinstance(record, Tensor) else "")]
    if fault == "not_tensor":
        what = f"is {_article(_type_of(record))}, not a tensor"
        return [context.make("lost_requires_grad", check, name, what=what)]
    return [context.make("lost_requires_grad", check, name, what="no longer requires grad")]


def _shape(context: _Context, first: Mismatch) -> list[Diagnosis]:
    check = first.step
    assert check is not None and first.parameter is not None
    name = first.parameter
    got = shape_of((check.raw.params or {}).get(name))
    want = context.analysis.case.init[name].shape
    detail = f"After update(lr), {name} has shape {got} instead of {want} ({context.where(check)})."
    return [context.make("shape_mismatch", check, name, detail=detail)]


def _update(context: _Context, first: Mismatch) -> list[Diagnosis]:
    check = first.step
    assert check is not None
    lr = context.analysis.case.lr
    for name, ok in check.update_ok.items():
        if ok:
            continue
        found = _update_mutant(context, check, name, lr)
        if found:
            return [found]
    return []


def _update_mutant(context: _Context, check: StepCheck, name: str, lr: float) -> Diagnosis | None:
    """The mutant that explains this update and the next few ones (one step can fit anything)."""
    before, after = check.before[name], check.student_params()[name]
    grads = check.student_grads()
    tol = context.tol
    transitions = _transitions(context, check, name)
    if all(is_close(a, b, tol) for b, a, _ in transitions):
        return context.make("no_update", check, name)
    if all(is_close(a, _axpy(b, lr, g), tol) for b, a, g in transitions):
        return context.make("wrong_sign", check, name)
    factor = _step_factor(transitions, lr, tol)
    if factor is not None:
        return context.make("wrong_learning_rate", check, name, factor=format_number(factor))
    for other in check.before:
        if other == name:
            continue
        if is_close(after, _axpy(check.before[other], -lr, grads[name]), tol):
            return context.make("wrong_update", check, name, detail=f"the new {name} starts from {other} instead of {name}.")
        if grads[other] is not None and is_close(after, _axpy(before, -lr, grads[other]), tol):
            return context.make("wrong_update", check, name, detail=f"{name} is moved by {other}.grad instead of {name}.grad.")
    detail = "its new value is not the gradient-descent step." if context.hidden else (
        f"expected {_fmt(check.expected_params[name])}, got {_fmt(after)}."
    )
    return context.make("wrong_update", check, name, detail=detail)


def _prediction(context: _Context, first: Mismatch) -> list[Diagnosis]:
    detail = "after training, the prediction for the test input is not the model's value at the trained parameters."
    return [context.make("wrong_forward", detail=detail)]


def _divergence(context: _Context) -> list[Diagnosis]:
    """NaN or infinity where the reference, stepped from the same state, stays finite."""
    for check in context.analysis.steps:
        for what, values in [("the loss", check.student_loss), *((n, v) for n, v in check.student_params().items())]:
            if values is not None and not all(math.isfinite(v) for v in values):
                value = next(v for v in values if not math.isfinite(v))
                return [context.make("diverged", check, what=what, value=str(value))]
    return []


def _axpy(values: Values, scale: float, direction: Values | None) -> Values | None:
    if direction is None or len(direction) != len(values):
        return None
    return [v + scale * d for v, d in zip(values, direction)]


def _transitions(context: _Context, check: StepCheck, name: str, count: int = 4) -> list[tuple[Values, Values, Values]]:
    """(before, after, gradient) of `name` at this step and the next ones, from the student's trace."""
    after, grads = check.student_params()[name], check.student_grads()[name]
    if after is None or grads is None:
        return []
    result = [(check.before[name], after, grads)]
    for raw in context.analysis.student.steps[check.index : check.index + count - 1]:
        if raw.params is None or raw.grads is None:
            break
        following, grads = numbers_of(raw.params[name]), numbers_of(raw.grads[name])
        if following is None or grads is None:
            break
        result.append((after, following, grads))
        after = following
    return result


def _step_factor(transitions: list[tuple[Values, Values, Values]], lr: float, tol: Tolerance) -> float | None:
    """c when every step is p - c * lr * grad with one c for all elements and steps, c not 1."""
    if not transitions or lr == 0:
        return None
    before, after, grads = transitions[0]
    ratios = [(b - a) / (lr * g) for b, a, g in zip(before, after, grads) if abs(g) > 1e-12]
    if not ratios or any(not math.isfinite(r) for r in ratios):
        return None
    factor = sum(ratios) / len(ratios)
    if factor <= 0 or math.isclose(factor, 1.0, rel_tol=1e-3):
        return None
    if all(is_close(a, _axpy(b, -factor * lr, g), tol) for b, a, g in transitions):
        return factor
    return None


def _common_ratio(actual: Values | None, expected: Values | None) -> float | None:
    if not actual or not expected or len(actual) != len(expected):
        return None
    ratios = [a / e for a, e in zip(actual, expected) if e != 0]
    if not ratios or not all(math.isfinite(r) for r in ratios):
        return None
    first = ratios[0]
    return first if all(math.isclose(r, first, rel_tol=1e-4) for r in ratios) else None


def _is_count_ratio(factor: float) -> bool:
    """A sum-versus-mean slip scales the loss by a whole number of elements (or its inverse)."""
    if factor <= 0:
        return False
    count = max(factor, 1 / factor)
    return count >= 1.5 and math.isclose(count, round(count), rel_tol=1e-4)


def _values(expected: Values | None, actual: Values | None, hidden: bool) -> str:
    return "" if hidden else f": expected {_fmt(expected)}, got {_fmt(actual)}"


def _fmt(values: Iterable[float] | None) -> str:
    return format_values(None if values is None else list(values))


def _type_of(value: Any) -> str:
    """What a value that is no tensor is: its class name, or its kind ("none")."""
    return value.type if isinstance(value, (Number, Other)) else value.kind


def _article(noun: str) -> str:
    return f"{'an' if noun[:1].lower() in 'aeiou' else 'a'} {noun}"

