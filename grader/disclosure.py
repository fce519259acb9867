"""What a student may see of the hidden cases: one rule for everything a hidden run produced.

Student code can read a hidden case where the harness holds it (its frames, its arguments) and
try to carry it out through anything the report shows. So every fact that comes from a hidden
case goes through `disclosed` before it is shown, and what it lets through is a fixed
vocabulary that no submission can choose the text of. `grading` calls it for both drivers.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass, replace
from typing import Any

from grader.report import Diagnosis

WITHHELD = "details of hidden cases are withheld"
USER_DEFINED_EXCEPTION = "user-defined exception"
BUILTIN_EXCEPTIONS = frozenset(
    name for name, value in vars(builtins).items() if isinstance(value, type) and issubclass(value, BaseException)
)

# What each diagnosis says when a hidden case is where it was found: no numbers, names or steps.
HIDDEN_MESSAGES = {
    "missing_zero_grad": "In a hidden case, a gradient keeps growing: .grad still holds earlier gradients. Clear it after each update.",
    "no_update": "In a hidden case, a parameter does not move after update(lr).",
    "wrong_sign": "In a hidden case, update(lr) moves a parameter the wrong way: step against the gradient.",
    "wrong_learning_rate": "In a hidden case, a step is not lr * gradient: use the lr that update(lr) receives, without extra factors.",
    "fixed_learning_rate": "update(lr) ignores its lr argument: with another learning rate, the step still uses the example's value.",
    "detached_loss": "In a hidden case, loss(x, y) does not return a tensor connected to the autograd graph.",
    "non_leaf_parameter": "In a hidden case, a parameter is no longer a leaf tensor after update(lr).",
    "lost_requires_grad": "In a hidden case, a parameter no longer requires grad (or is no tensor) after update(lr).",
    "integer_dtype": "In a hidden case, a tensor that must require grad has an integer dtype.",
    "wrong_reduction": "In a hidden case, the loss is not the mean of the squared errors.",
    "wrong_forward": "In a hidden case, forward(x) does not compute the model's formula.",
    "wrong_loss": "In a hidden case, loss(x, y) is not the squared error of your own prediction.",
    "wrong_gradient": "In a hidden case, .grad after backward() is not the gradient of your loss.",
    "wrong_update": "In a hidden case, update(lr) does not compute parameter - lr * gradient.",
    "shape_mismatch": "In a hidden case, a tensor has the wrong shape.",
    "hardcoded_output": (
        "Your code is right on the visible example but not on hidden cases with other data, initial values or learning rate. "
        "It seems to rely on the example's own numbers instead of the arguments it receives."
    ),
    "graph_reused": "In a hidden case, backward() went through a graph that was already used and freed.",
    "missing_global": "In a hidden case, a function reads a parameter that it also assigns without `global` (UnboundLocalError).",
    "inplace_leaf_update": "In a hidden case, update changes a parameter in place while autograd is recording.",
    "diverged": "In a hidden case, the training blew up (NaN or infinity).",
    "no_autograd": "In a hidden case, the gradients did not come from autograd's backward().",
    "runtime_error": f"Your code raised an exception in a hidden case ({WITHHELD}).",
    "wrong_value": "In a hidden case, a function returns something else than the reference.",
    "wrong_dtype": "In a hidden case, a function returns a tensor of another dtype than the reference's.",
    "wrong_requires_grad": "In a hidden case, a function returns a tensor whose requires_grad differs from the reference's.",
    "wrong_leaf": "In a hidden case, a function returns a tensor that is a leaf where the reference's is not, or the reverse.",
    "wrong_grad_fn": "In a hidden case, a function returns a tensor made by another operation than the reference's.",
}


@dataclass(frozen=True)
class Hidden:
    """What the hidden cases produced that a report could carry to the student."""

    error: dict[str, Any] | None = None  # the exception a hidden case raised, as the harness recorded it
    diagnoses: tuple[Diagnosis, ...] = ()  # the mistakes named from hidden cases
    exit_code: int | None = None  # how the child ended when it died in the hidden job


def disclosed(hidden: Hidden, names: frozenset[str]) -> Hidden:
    """The rule: of a hidden case, a student sees only words no submission chooses.

    - an exception: its class name if Python builds it in, else the word USER_DEFINED_EXCEPTION;
      never its message, line, source text, function, errno, phase or step;
    - a diagnosis: its code (one of HIDDEN_MESSAGES, else `runtime_error`) with that code's fixed
      message; its parameter only when it is one of `names` (the exercise's own parameters and
      functions); never a step, a number, a shape or a type name;
    - how the child died (exit code, signal): nothing;
    - the time the hidden job took: nothing (`duration_ms` covers the visible part only: the
      time until the visible trace was in, plus judging it; see `grading._Clock`).
    Which hidden checks pass, and the outcome, are shown: they are the grade.
    """
    return Hidden(
        error=_disclosed_error(hidden.error) if hidden.error is not None else None,
        diagnoses=tuple(_disclosed_diagnosis(d, names) for d in hidden.diagnoses),
    )


def _disclosed_error(error: dict[str, Any]) -> dict[str, Any]:
    name = error.get("type")
    return {
        "case": "hidden",
        "phase": None,
        "step": None,
        "type": name if isinstance(name, str) and name in BUILTIN_EXCEPTIONS else USER_DEFINED_EXCEPTION,
        "message": WITHHELD,
        "line": None,
        "function": None,
        "text": None,
        "errno": None,
    }


def _disclosed_diagnosis(diagnosis: Diagnosis, names: frozenset[str]) -> Diagnosis:
    code = diagnosis.code if diagnosis.code in HIDDEN_MESSAGES else "runtime_error"
    parameter = diagnosis.parameter if diagnosis.parameter in names else None
    message = HIDDEN_MESSAGES[code] + (f" ({parameter})" if parameter else "")
    return replace(diagnosis, code=code, message=message, step=None, parameter=parameter, hidden=True)
