"""Judges a raw student trace against the reference, step by step, outside the sandbox.

Each training step is judged as a transition: the reference's own `loss`, `backward` and
`update` are run from the student's recorded state, so two correct solutions that round
differently never drift into a false failure. Where the student's state and step agree with the
cached reference run within tolerance, that agreement is accepted (a correct submission costs no
reference compute); wherever they do not, the reference is stepped from the student's own state
and that transition decides.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from grader.closeness import is_close
from grader.drivers.train.reference import State, Stepper, Values, training_samples
from grader.drivers.train.trace import Case, CaseRecord, Step
from grader.spec import Tolerance
from grader.trace import Tensor, Value, numbers_of, shape_of

FIRST_CHUNK = 16  # steps asked of the reference at once; later chunks reach twice as far


@dataclass
class StepCheck:
    """One training step: what the student had, did, and what the reference does from there."""

    index: int  # 1-based, as shown to students
    epoch: int
    sample: int
    before: dict[str, Values]
    leftover: dict[str, Values]
    raw: Step
    in_graph: bool = False
    loss_ok: bool | None = None
    expected_loss: Values | None = None
    grads_ok: dict[str, bool] = field(default_factory=dict)
    expected_grads: dict[str, Values] = field(default_factory=dict)
    update_ok: dict[str, bool] = field(default_factory=dict)
    expected_params: dict[str, Values] = field(default_factory=dict)

    @property
    def student_loss(self) -> Values | None:
        return numbers_of(self.raw.loss)

    def student_grads(self) -> dict[str, Values | None]:
        return {name: numbers_of(rec) for name, rec in (self.raw.grads or {}).items()}

    def student_params(self) -> dict[str, Values | None]:
        return {name: numbers_of(rec) for name, rec in (self.raw.params or {}).items()}

    @property
    def is_complete(self) -> bool:
        return self.raw.params is not None

    @property
    def passed(self) -> bool:
        return (
            self.in_graph
            and bool(self.loss_ok)
            and bool(self.grads_ok)
            and all(self.grads_ok.values())
            and bool(self.update_ok)
            and all(self.update_ok.values())
            and not self.raw.faults
        )


@dataclass(frozen=True)
class Mismatch:
    """Where a case first departs from the reference, with what was expected and what came."""

    quantity: str  # forward, loss_graph, loss, grad, no_autograd, param, shape, fault, error, prediction, incomplete
    step: StepCheck | None = None
    parameter: str | None = None
    expected: Values | None = None
    actual: Values | None = None


@dataclass
class CaseAnalysis:
    name: str
    hidden: bool
    case: Case
    student: CaseRecord
    reference: CaseRecord
    forward_ok: bool = False
    forward_shape_ok: bool = True
    steps: list[StepCheck] = field(default_factory=list)
    prediction_ok: bool = False
    first: Mismatch | None = None

    @property
    def expected_steps(self) -> int:
        return len(self.reference.steps)

    @property
    def completed(self) -> bool:
        return self.student.error is None and self.student.stopped is None and len(self.steps) == self.expected_steps

    @property
    def passed(self) -> bool:
        return self.first is None


class CaseJudge:
    """Walks one case's steps, comparing each with the reference from the student's state."""

    def __init__(self, stepper: Stepper, step_tol: Tolerance, prediction_tol: Tolerance) -> None:
        self.stepper = stepper
        self.step_tol = step_tol
        self.prediction_tol = prediction_tol

    def analyse(self, case: Case, student: CaseRecord, reference: CaseRecord, stop_early: bool) -> CaseAnalysis:
        analysis = CaseAnalysis(case.name, case.hidden, case, student, reference)
        self._judge_forward(analysis)
        if analysis.first and stop_early:
            return analysis
        self._judge_steps(analysis, stop_early)
        if analysis.first and stop_early:
            return analysis
        self._judge_prediction(analysis)
        self._note_unfinished(analysis)
        return analysis

    def _fail(self, analysis: CaseAnalysis, mismatch: Mismatch) -> None:
        if analysis.first is None:
            analysis.first = mismatch

    def _judge_forward(self, analysis: CaseAnalysis) -> None:
        student, expected = analysis.student.probe, analysis.reference.probe
        if len(student) < len(expected):
            analysis.forward_ok = False
            return  # forward raised: the error itself is the first mismatch
        for got, want in zip(student, expected):
            if shape_of(got) is not None and shape_of(got) != shape_of(want):
                analysis.forward_shape_ok = False
            if not is_close(numbers_of(got), numbers_of(want), self.step_tol) or not analysis.forward_shape_ok:
                analysis.forward_ok = False
                self._fail(analysis, Mismatch("forward", expected=numbers_of(want), actual=numbers_of(got)))
                return
        analysis.forward_ok = True

    def _judge_steps(self, analysis: CaseAnalysis, stop_early: bool) -> None:
        reference = analysis.reference
        transitions = _Transitions(self.stepper, analysis.case, analysis.student.steps, stop_early)
        shapes, state = transitions.shapes, transitions.initial
        leftover = {name: [0.0] * len(values) for name, values in state.items()}
        on_track = True
        for position, raw in enumerate(analysis.student.steps):
            check = StepCheck(position + 1, raw.epoch, raw.sample, state, leftover, raw)
            analysis.steps.append(check)
            ref_step = reference.steps[position] if position < len(reference.steps) else None
            on_track = on_track and ref_step is not None
            if on_track and _recorded_as(raw, ref_step):
                _passed_as(check, ref_step)
            elif not self._judge_step(analysis, check, transitions, ref_step if on_track else None, shapes):
                return
            if stop_early and analysis.first:
                return
            params = check.student_params()
            state = {name: params[name] for name in shapes}
            assert raw.grads_after is not None  # a step judged to its end ran to its end
            leftover = {name: numbers_of(rec) or [0.0] * len(state[name]) for name, rec in raw.grads_after.items()}
            on_track = on_track and ref_step is not None and all(is_close(state[n], numbers_of(_params(ref_step)[n]), self.step_tol) for n in shapes)

    def _judge_step(self, analysis: CaseAnalysis, check: StepCheck, transitions: _Transitions, ref_step: Step | None, shapes: dict[str, list[int]]) -> bool:
        """Judge one step; False when the run cannot be followed past it."""
        raw = check.raw
        if raw.loss is None:
            return False  # loss raised: the recorded error is the mismatch
        check.in_graph = isinstance(raw.loss, Tensor) and bool(raw.loss.grad_fn) and raw.loss.requires_grad
        if not check.in_graph:
            self._fail(analysis, Mismatch("loss_graph", check, actual=check.student_loss))
            return False
        grads = check.student_grads() if raw.grads is not None else None

        def judge_against(expected: tuple[Values, dict[str, Values]]) -> bool:
            check.expected_loss, check.expected_grads = expected
            check.loss_ok = is_close(check.student_loss, check.expected_loss, self.step_tol)
            if grads is not None:
                check.grads_ok = {n: is_close(grads[n], check.expected_grads[n], self.step_tol) for n in shapes}
            return check.loss_ok and all(check.grads_ok.values())

        # The cached run stands in only when it agrees; otherwise step from the student's state.
        cached = ref_step is not None and judge_against(
            (numbers_of(ref_step.loss), {n: numbers_of(_grads(ref_step)[n]) for n in shapes})
        )
        if not cached:
            judge_against(transitions.loss_and_grads(check.index - 1))
        for name in raw.not_autograd or ():
            check.grads_ok[name] = False  # right numbers or not, they are not autograd's
            self._fail(analysis, Mismatch("no_autograd", check, name, check.expected_grads[name], grads[name] if grads else None))
        if not check.loss_ok:
            self._fail(analysis, Mismatch("loss", check, expected=check.expected_loss, actual=check.student_loss))
        if grads is None:
            return False
        for name in shapes:
            if not check.grads_ok[name]:
                self._fail(analysis, Mismatch("grad", check, name, check.expected_grads[name], grads[name]))
        if not check.is_complete:
            return False
        return self._judge_update(analysis, check, transitions, ref_step, shapes)

    def _judge_update(self, analysis: CaseAnalysis, check: StepCheck, transitions: _Transitions, ref_step: Step | None, shapes: dict[str, list[int]]) -> bool:
        raw = check.raw
        faults = raw.faults or {}
        params = check.student_params()
        for name, shape in shapes.items():
            if name in faults:
                check.update_ok[name] = False
                self._fail(analysis, Mismatch("fault", check, name, actual=params[name]))
            elif shape_of(_params(raw)[name]) != shape:
                check.update_ok[name] = False
                self._fail(analysis, Mismatch("shape", check, name, actual=params[name]))
        if faults or not all(check.update_ok.get(n, True) for n in shapes):
            return False
        grads = check.student_grads()
        if any(g is None or len(g) != len(check.before[n]) for n, g in grads.items()):
            return False

        def judge_against(expected: dict[str, Values]) -> bool:
            check.expected_params = expected
            check.update_ok = {n: is_close(params[n], expected[n], self.step_tol) for n in shapes}
            return all(check.update_ok.values())

        # The cached update was taken with the reference's gradients: it stands in only where the
        # student's gradients are those too, so an update is always judged on the student's own.
        cached = (
            ref_step is not None
            and all(check.grads_ok.values())
            and judge_against({n: numbers_of(_params(ref_step)[n]) for n in shapes})
        )
        if not cached:
            judge_against(transitions.updated(check.index - 1))
        for name in shapes:
            if not check.update_ok[name]:
                self._fail(analysis, Mismatch("param", check, name, check.expected_params[name], params[name]))
        # The next step starts from these values: they must be numbers of their shapes (a complex
        # tensor is recorded without its values) for the reference to step from them.
        return all(_is_finite(params[n]) and len(params[n] or ()) == math.prod(shape) for n, shape in shapes.items())

    def _judge_prediction(self, analysis: CaseAnalysis) -> None:
        got, want = analysis.student.prediction, analysis.reference.prediction
        analysis.prediction_ok = shape_of(got) == shape_of(want) and is_close(numbers_of(got), numbers_of(want), self.prediction_tol)
        if got is not None and not analysis.prediction_ok:
            self._fail(analysis, Mismatch("prediction", expected=numbers_of(want), actual=numbers_of(got)))

    def _note_unfinished(self, analysis: CaseAnalysis) -> None:
        student = analysis.student
        last = analysis.steps[-1] if analysis.steps else None
        if student.error:
            self._fail(analysis, Mismatch("error", last))
        elif student.stopped:
            self._fail(analysis, Mismatch("incomplete", last))
        elif len(analysis.steps) != analysis.expected_steps:
            self._fail(analysis, Mismatch("incomplete", last))


def _recorded_as(raw: Step, ref_step: Step) -> bool:
    """The student's step holds the very records of the reference's, from the same state (the
    common case of a correct run): every verdict of the step is known without a comparison.
    NaN never equals itself, so a diverged step always takes the full path."""
    return raw.faults is None and raw.not_autograd is None and raw.loss == ref_step.loss and raw.grads == ref_step.grads and raw.params == ref_step.params


def _passed_as(check: StepCheck, ref_step: Step) -> None:
    check.in_graph = check.loss_ok = True
    check.expected_loss = numbers_of(ref_step.loss)
    check.expected_grads = {name: numbers_of(record) for name, record in _grads(ref_step).items()}
    check.expected_params = {name: numbers_of(record) for name, record in _params(ref_step).items()}
    check.grads_ok = dict.fromkeys(check.expected_grads, True)
    check.update_ok = dict.fromkeys(check.expected_params, True)


class _Transitions:
    """The reference's steps from the student's recorded states, asked of a batched stepper a
    chunk at a time, from the step judged on while the recorded states are well-formed: a chunk
    costs about one step. A run judged to its end takes the rest of it in one chunk; one
    that stops at its first mismatch (a hidden case) takes chunks that reach twice as far each
    time (at least FIRST_CHUNK steps), so it pays for at most as many steps again as it used."""

    def __init__(self, stepper: Stepper, case: Case, steps: list[Step], stop_early: bool) -> None:
        self.stepper = stepper
        self.lr = case.lr
        self.samples = training_samples(case)
        self.shapes = {name: init.shape for name, init in case.init.items()}
        self.steps = steps
        self.stop_early = stop_early
        self.initial: dict[str, Values | None] = {name: init.values for name, init in case.init.items()}
        self._losses: dict[int, tuple[Values, State]] = {}
        self._updates: dict[int, State] = {}

    def loss_and_grads(self, position: int) -> tuple[Values, State]:
        if position not in self._losses:
            positions = self._chunk_from(position, need_grads=False)
            samples = [self.samples[self.steps[p].sample] for p in positions]
            starts = [self._before(p) for p in positions]
            results = self.stepper.losses_and_grads(starts, [x for x, _ in samples], [y for _, y in samples])
            self._losses.update(zip(positions, results, strict=True))
        return self._losses[position]

    def updated(self, position: int) -> State:
        if position not in self._updates:
            positions = self._chunk_from(position, need_grads=True)
            starts, grads = [self._before(p) for p in positions], [self._grads(p) for p in positions]
            self._updates.update(zip(positions, self.stepper.updates(starts, grads, self.lr), strict=True))
        return self._updates[position]

    def _chunk_from(self, position: int, need_grads: bool) -> list[int]:
        positions = [position]
        if not self.stepper.batched:
            return positions  # one at a time, a step costs the same alone or in a chunk
        end = position + max(FIRST_CHUNK, position) if self.stop_early else len(self.steps)
        for later in range(position + 1, min(end, len(self.steps))):
            if not (self._well_formed(self._before(later)) and (not need_grads or self._well_formed(self._grads(later)))):
                break
            positions.append(later)
        return positions

    def _before(self, position: int) -> dict[str, Values | None]:
        if position == 0:
            return self.initial
        params = self.steps[position - 1].params or {}
        return {name: numbers_of(params.get(name)) for name in self.shapes}

    def _grads(self, position: int) -> dict[str, Values | None]:
        grads = self.steps[position].grads or {}
        return {name: numbers_of(grads.get(name)) for name in self.shapes}

    def _well_formed(self, state: dict[str, Values | None]) -> bool:
        return all(state[name] is not None and len(state[name]) == math.prod(shape) for name, shape in self.shapes.items())


def _grads(step: Step) -> dict[str, Value]:
    """The gradients of a step that has them (the reference's, or one judged past backward)."""
    assert step.grads is not None
    return step.grads


def _params(step: Step) -> dict[str, Value]:
    assert step.params is not None
    return step.params


def _is_finite(values: Values | None) -> bool:
    return values is not None and all(math.isfinite(v) for v in values)
