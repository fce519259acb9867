"""The `function` kind against submissions that dodge the hand-written backward or break the record.

Its labelled mistakes are graded with every exercise's (test_exercise_files.py); these are the
hostile ones: each ends in a recorded outcome, never full marks it did not earn, never a grader fault.
"""

from __future__ import annotations

import textwrap

import pytest
from test_hostile import (
    still_grades,  # noqa: F401  (the fixture: the next student's correct file grades on the same sandboxes)
)

SQUARE = textwrap.dedent(
    """\
    import torch


    class Square(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
    {forward}
        @staticmethod
        def backward(ctx, g):
    {backward}
    """
)
RIGHT_FORWARD = "        ctx.save_for_backward(x)\n        return x ** 2\n"
RIGHT_BACKWARD = "        (x,) = ctx.saved_tensors\n        return 2 * x * g\n"


def square(forward: str = RIGHT_FORWARD, backward: str = RIGHT_BACKWARD, after: str = "") -> str:
    return SQUARE.format(forward=forward.rstrip("\n"), backward=backward.rstrip("\n")) + after


def test_a_right_square_scores_full_marks(grade):
    assert grade("custom_square", square()).is_full_score


def test_an_apply_that_bypasses_the_backward_scores_no_gradient_points(grade, still_grades):  # noqa: F811
    """`apply` replaced by plain autograd: the output is right, its grad_fn is not the class's backward."""
    report = grade("custom_square", square("        raise NotImplementedError\n", "        raise NotImplementedError\n", "    apply = staticmethod(lambda x: x ** 2)\n"))
    assert not report.is_full_score
    assert {c.id: c.passed for c in report.checks}["gradients"] is False
    assert "grad_fn is PowBackward0, not SquareBackward" in next(d.message for d in report.diagnoses if d.code == "wrong_backward")
    still_grades()


def test_gradients_handed_in_through_a_replaced_autograd_grad_are_not_the_students(grade, still_grades):  # noqa: F811
    """The loop calls the autograd.grad it captured before student code ran."""
    patch = "\nimport torch as _t\n_t.autograd.grad = lambda outputs, inputs, *a, **k: tuple(2 * i.detach() for i in inputs)\n"
    report = grade("custom_square", square(backward="        return g\n", after=patch))
    assert not report.is_full_score and "wrong_backward" in report.codes
    still_grades()


def test_a_complex_gradient_is_judged_not_a_grader_fault(grade, still_grades):  # noqa: F811
    report = grade("custom_square", square(backward="        return g.to(torch.complex128)\n"))
    assert report.outcome in ("ok", "crashed") and not report.is_full_score
    still_grades()


@pytest.mark.parametrize("dims", [9, 17])
def test_an_output_of_many_dimensions_is_a_wrong_output_not_a_malformed_trace(grade, dims, still_grades):  # noqa: F811
    report = grade("custom_square", square(forward=f"        return (x ** 2).reshape({'1, ' * (dims - 1)}*x.shape)\n"))
    assert report.outcome == "ok" and "wrong_output" in report.codes
    still_grades()


@pytest.mark.parametrize(
    ("raised", "shown"),
    [
        ('ValueError("bad \\ud800 surrogate")', "bad ? surrogate"),
        ("ValueError(type('Sly', (str,), {'__getitem__': lambda s, i: 1 / 0, '__str__': lambda s: s})('sly text'))", "sly text"),
        ("OSError(2**70, 'huge errno')", "huge errno"),
    ],
    ids=["surrogate-message", "str-subclass-message", "errno-beyond-any-int"],
)
def test_an_exception_no_frame_could_carry_as_is_is_still_the_students_crash(grade, raised, shown, still_grades):  # noqa: F811
    """Text and numbers a MessagePack frame cannot hold are made to fit, not lost with the child."""
    report = grade("custom_square", square(forward=f"        raise {raised}\n"))
    assert report.outcome == "crashed", report.message
    assert shown in report.to_json()["diagnoses"][0]["message"] + report.error["type"]
    still_grades()


def test_no_gradient_where_the_reference_gives_none_is_right():
    """backward may return None for an input that needs no gradient, as the reference may."""
    from grader.drivers.function.judge import _same_gradient
    from grader.spec import Tolerance
    from grader.trace import Nothing, Tensor

    tol = Tolerance(rtol=1e-9, atol=1e-12)
    zeros = Tensor(shape=[2], dtype="float64", values=[0.0, 0.0], requires_grad=False, is_leaf=True)
    assert _same_gradient(Nothing(), Nothing(), tol)
    assert not _same_gradient(zeros, Nothing(), tol) and not _same_gradient(Nothing(), zeros, tol)
    assert _same_gradient(zeros, zeros, tol)
