"""What an exception in student code means: the classic autograd errors, named from their message.

Used for any exception a submission raises, whatever its kind: while its file loads (by the
core) and while a kind's loop runs it (by the kind's diagnoses). The codes here are part of
every kind's vocabulary.
"""

from __future__ import annotations

from grader.report import Diagnosis
from grader.trace import Error

WITHHELD = "details of hidden cases are withheld"

EXCEPTION_MESSAGES = {
    "detached_loss": (
        "loss(x, y) returns {what}, which is not connected to the autograd graph ({where}), so backward() "
        "cannot compute any gradient. Return the tensor itself: no .item(), .detach(), float(...) or torch.no_grad() in loss."
    ),
    "integer_dtype": (
        "{param_or_tensor} has an integer dtype ({detail}). Gradients exist only for floating-point tensors: "
        "write 1.0 rather than 1, or pass dtype=torch.float32."
    ),
    "wrong_reduction": (
        "{detail} The loss must be one number per step: the mean of the squared errors (torch.mean or "
        "nn.MSELoss), as the exercise states."
    ),
    "shape_mismatch": "{detail} Check the shapes of your tensors (print(t.shape)) against the statement.",
    "graph_reused": (
        "backward() went through a graph that was already used and freed ({where}). Build a new loss in every "
        "call of loss(x, y), do not keep a loss or prediction from an earlier step, and do not call backward() "
        "yourself inside loss."
    ),
    "missing_global": (
        "In {function}, Python treats {name} as a new local variable because the function assigns to it "
        "(line {line}: `{text}`), so reading it first fails (UnboundLocalError). Add `global {name}` at the top "
        "of {function}, or change the tensor in place ({name}.data -= ... or {name} -= ... under torch.no_grad())."
    ),
    "inplace_leaf_update": (
        "update changes a parameter in place while autograd is recording (line {line}: `{text}`). Wrap the "
        "step in `with torch.no_grad():` or update .data."
    ),
    "runtime_error": "Your code raised {type} in {function} (line {line}: `{text}`): {message}",
}

# What each of them says when a hidden case raised it: no numbers, names or steps.
HIDDEN_EXCEPTION_MESSAGES = {
    "detached_loss": "In a hidden case, loss(x, y) does not return a tensor connected to the autograd graph.",
    "integer_dtype": "In a hidden case, a tensor that must require grad has an integer dtype.",
    "wrong_reduction": "In a hidden case, the loss is not the mean of the squared errors.",
    "shape_mismatch": "In a hidden case, a tensor has the wrong shape.",
    "graph_reused": "In a hidden case, backward() went through a graph that was already used and freed.",
    "missing_global": "In a hidden case, a function reads a parameter that it also assigns without `global` (UnboundLocalError).",
    "inplace_leaf_update": "In a hidden case, update changes a parameter in place while autograd is recording.",
    "runtime_error": f"Your code raised an exception in a hidden case ({WITHHELD}).",
}

# Exception messages that identify a mistake, whatever line raised them.
EXCEPTION_RULES: tuple[tuple[str, str], ...] = (
    ("backward through the graph a second time", "graph_reused"),
    ("does not require grad and does not have a grad_fn", "detached_loss"),
    ("floating point", "integer_dtype"),
    ("Found dtype Long", "integer_dtype"),
    ("implicitly created only for scalar outputs", "wrong_reduction"),
    ("shapes cannot be multiplied", "shape_mismatch"),
    ("must match the size of tensor", "shape_mismatch"),
    ("size mismatch", "shape_mismatch"),
    ("shape mismatch", "shape_mismatch"),
    ("is invalid for input of size", "shape_mismatch"),
    ("used in an in-place operation", "inplace_leaf_update"),
)



def exception_diagnosis(error: Error, hidden: bool = False, code: str | None = None) -> Diagnosis:
    """What an exception in student code means, in the student's terms (as `code`, if given)."""
    code = code or ("missing_global" if error.type == "UnboundLocalError" else _code_for_message(error.message))
    fields = {
        "function": f"{error.function}()" if error.function and error.function != "<module>" else "your file",
        "line": error.line or "?",
        "text": error.text or "",
        "type": error.type,
        "message": "(hidden case: details withheld)" if hidden else error.message,
        "name": _unbound_name(error.message),
        "where": "in a hidden case" if hidden else _phase_text(error),
        "param": "a parameter",
        "param_or_tensor": "A tensor that must require grad",
        "detail": error.message if not hidden else error.type,
        "what": "a tensor that does not require grad",
    }
    if code == "wrong_reduction":
        fields["detail"] = "Your loss is a tensor with several values, so backward() cannot start from it."
    if code == "shape_mismatch":
        fields["detail"] = f"Line {fields['line']} combines tensors whose shapes do not fit: {fields['detail']}."
    step = None if hidden else error.step
    return Diagnosis(code, EXCEPTION_MESSAGES[code].format(**fields), step=step, hidden=hidden)


def _code_for_message(message: str) -> str:
    return next((code for needle, code in EXCEPTION_RULES if needle in message), "runtime_error")


def _unbound_name(message: str) -> str:
    # "cannot access local variable 'w' where it is not associated with a value"
    parts = message.split("'")
    return parts[1] if len(parts) >= 3 else "the parameter"


def _phase_text(error: Error) -> str:
    if error.step:
        return f"at step {error.step}, in {error.phase}"
    return f"in {error.phase}"


