"""The `train` kind's reference on the trusted side: concrete cases, and steps from any state.

The reference solution is instructor code; its whole runs come from the sandbox like a
student's (`grader.reference`). Here it runs in the grader's own process to take steps from a
student's recorded states (one at a time, or a whole run's in one vectorized call), which is
what lets `compare` judge each step as a transition.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any

import torch

from grader.declared import tensor_from
from grader.drivers.train.spec import CaseSpec
from grader.drivers.train.trace import Case, CaseRecord, Init
from grader.reference import load_reference
from grader.spec import Exercise
from grader.trace import numbers_of

logger = logging.getLogger(__name__)


def materialize_case(case: CaseSpec, parameters: dict[str, tuple[int, ...]]) -> Case:
    """The case as the loop takes it: plain numbers, random initial values drawn here."""
    generator = torch.Generator().manual_seed(case.seed if case.seed is not None else 0)
    init = {}
    for name, value in case.init.items():
        tensor = tensor_from(value, generator, torch.float32)
        if tuple(tensor.shape) != tuple(parameters[name]):
            tensor = tensor.reshape(parameters[name])
        init[name] = Init(shape=list(tensor.shape), values=tensor.reshape(-1).tolist())
    plain = case.batch == "sample"
    return Case(
        name=case.name,
        hidden=case.hidden,
        batch="sample" if plain else "full",
        x=case.x if plain else tensor_from(case.x, generator, torch.float32).tolist(),
        y=case.y if plain else tensor_from(case.y, generator, torch.float32).tolist(),
        x_test=case.x_test if plain else tensor_from(case.x_test, generator, torch.float32).tolist(),
        init=init,
        lr=case.lr,
        epochs=case.epochs,
    )


def job_cases(exercise: Exercise) -> list[Case]:
    return [materialize_case(case, dict(exercise.parameters)) for case in exercise.cases]


def training_samples(case: Case) -> list[tuple[Any, Any]]:
    """The (x, y) of each step, as the sandbox loop hands them to `loss`: Python floats per
    sample, float32 tensors for a full batch (the trusted side's own copy of the loop's rule)."""
    if case.batch == "sample":
        return list(zip(case.x, case.y))
    return [(torch.tensor(case.x, dtype=torch.float32), torch.tensor(case.y, dtype=torch.float32))]


Values = list[float]
State = dict[str, Values]


class Stepper:
    """Runs the reference's own `loss`, `backward` and `update` from any parameter values.

    The reference keeps its parameters as module globals, so one stepper serves one thread at a
    time: each public method holds the stepper's lock for the whole install-compute-read cycle.

    A judge asks for many steps at once (`losses_and_grads`, `updates`). Once `enable_batching`
    has seen them agree bit for bit with single steps, they run as one vectorized call: each
    state a row of a batch, the loss through `torch.func.vmap`, the update on stacked tensors.
    A few hundred steps then cost about what one does; until then, or where a reference does
    not vectorize, they run one at a time.
    """

    def __init__(self, exercise: Exercise) -> None:
        self.module = load_reference(exercise)
        self.shapes = dict(exercise.parameters)
        self.lock = threading.Lock()
        self.batched = False

    def _install(self, values: State) -> None:
        for name, shape in self.shapes.items():
            setattr(self.module, name, torch.tensor(values[name], dtype=torch.float32).reshape(shape).requires_grad_(True))

    def loss_and_grads(self, values: State, x: Any, y: Any) -> tuple[Values, State]:
        with self.lock:
            self._install(values)
            loss = self.module.loss(x, y)
            loss.backward()
            grads = {name: getattr(self.module, name).grad.reshape(-1).to(torch.float64).tolist() for name in self.shapes}
            return loss.detach().reshape(-1).to(torch.float64).tolist(), grads

    def updated(self, values: State, grads: State, lr: float) -> State:
        """The reference update applied to the student's own values and gradients."""
        with self.lock:
            self._install(values)
            for name, shape in self.shapes.items():
                getattr(self.module, name).grad = torch.tensor(grads[name], dtype=torch.float32).reshape(shape)
            self.module.update(lr)
            return {name: getattr(self.module, name).detach().reshape(-1).to(torch.float64).tolist() for name in self.shapes}

    def losses_and_grads(self, starts: Sequence[State], xs: Sequence[Any], ys: Sequence[Any]) -> list[tuple[Values, State]]:
        """`loss_and_grads` from each state with its sample."""
        if self.batched and len(starts) > 1 and (inputs := _batchable(xs, ys)) is not None:
            try:
                with self.lock:
                    return self._vectorized_losses(starts, *inputs)
            except Exception:  # states no reference run went through: single steps still answer
                logger.exception("vectorized reference steps failed; stepping one at a time")
        return [self.loss_and_grads(start, x, y) for start, x, y in zip(starts, xs, ys, strict=True)]

    def updates(self, starts: Sequence[State], grads: Sequence[State], lr: float) -> list[State]:
        """`updated` from each state with its gradients."""
        if self.batched and len(starts) > 1:
            try:
                with self.lock:
                    return self._vectorized_updates(starts, grads, lr)
            except Exception:
                logger.exception("vectorized reference updates failed; stepping one at a time")
        return [self.updated(start, grad, lr) for start, grad in zip(starts, grads, strict=True)]

    def enable_batching(self, cases: Sequence[Case], traces: dict[str, CaseRecord]) -> str | None:
        """Vectorize from now on if, on every step of the reference's own runs, vectorized and
        single steps give the same bits; otherwise keep single steps and say why.

        vmap keeps each row to itself or refuses outright (an `.item()`, a branch on a value); an
        update that mixes rows (a norm over the whole tensor) shows here as different numbers.
        """
        try:
            for case in cases:
                starts, xs, ys, grads = reference_transitions(case, traces[case.name])
                inputs = _batchable(xs, ys)
                if inputs is None:
                    return f"case {case.name}: its samples cannot be stacked"
                with self.lock:
                    together = (self._vectorized_losses(starts, *inputs), self._vectorized_updates(starts, grads, case.lr))
                single = (
                    [self.loss_and_grads(start, x, y) for start, x, y in zip(starts, xs, ys, strict=True)],
                    [self.updated(start, grad, case.lr) for start, grad in zip(starts, grads, strict=True)],
                )
                if together != single:
                    return f"case {case.name}: vectorized steps differ from single steps"
        except Exception as error:  # the reference does something vmap refuses
            return f"{type(error).__name__}: {error}"
        self.batched = True
        return None

    def _stacked(self, starts: Sequence[State]) -> dict[str, torch.Tensor]:
        count = len(starts)
        return {n: torch.tensor([start[n] for start in starts], dtype=torch.float32).reshape(count, *s) for n, s in self.shapes.items()}

    def _vectorized_losses(self, starts: Sequence[State], x: Any, x_dim: int | None, y: Any, y_dim: int | None) -> list[tuple[Values, State]]:
        def loss_and_grads(params: dict[str, torch.Tensor], x: Any, y: Any) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
            def loss(params: dict[str, torch.Tensor]) -> torch.Tensor:
                for name, value in params.items():
                    setattr(self.module, name, value)
                return self.module.loss(x, y)

            value, pullback = torch.func.vjp(loss, params)
            (grads,) = pullback(torch.ones_like(value))  # what backward() seeds a one-element loss with
            return value, grads

        count = len(starts)
        losses, grads = torch.func.vmap(loss_and_grads, in_dims=(0, x_dim, y_dim))(self._stacked(starts), x, y)
        rows = {name: grad.reshape(count, -1).tolist() for name, grad in grads.items()}
        return [(loss, {name: rows[name][i] for name in self.shapes}) for i, loss in enumerate(losses.reshape(count, -1).tolist())]

    def _vectorized_updates(self, starts: Sequence[State], grads: Sequence[State], lr: float) -> list[State]:
        count = len(starts)
        for name, value in self._stacked(starts).items():
            value.requires_grad_(True)
            value.grad = torch.tensor([grad[name] for grad in grads], dtype=torch.float32).reshape(value.shape)
            setattr(self.module, name, value)
        self.module.update(lr)
        rows = {name: getattr(self.module, name).detach().reshape(count, -1).tolist() for name in self.shapes}
        return [{name: rows[name][i] for name in self.shapes} for i in range(count)]


def _batchable(xs: Sequence[Any], ys: Sequence[Any]) -> tuple[Any, int | None, Any, int | None] | None:
    """The samples as vmap takes them, with their batch dimension; None when they do not stack.

    Full-batch steps share one pair of tensors (not batched); per-sample steps take Python
    numbers, which become a float64 column: each row then holds the very double a step takes.
    """
    batch = []
    for values in (xs, ys):
        if isinstance(values[0], torch.Tensor) and all(value is values[0] for value in values):
            batch += [values[0], None]
        elif all(isinstance(value, (int, float)) and not isinstance(value, bool) for value in values):
            batch += [torch.tensor(values, dtype=torch.float64), 0]
        else:
            return None
    return batch[0], batch[1], batch[2], batch[3]


def reference_transitions(case: Case, trace: CaseRecord) -> tuple[list[State], list[Any], list[Any], list[State]]:
    """Every step of a reference run as (state before, x, y, gradients): what a stepper replays."""
    samples = training_samples(case)
    state = {name: init.values for name, init in case.init.items()}
    starts, xs, ys, grads = [], [], [], []
    for step in trace.steps:
        assert step.grads is not None and step.params is not None  # the reference ran every step to its end
        x, y = samples[step.sample]
        starts.append(state)
        xs.append(x)
        ys.append(y)
        grads.append({name: numbers_of(record) for name, record in step.grads.items()})
        state = {name: numbers_of(record) for name, record in step.params.items()}
    return starts, xs, ys, grads


def stepper_for(exercise: Exercise) -> Stepper:
    key = f"{exercise.slug}-{exercise.version}"
    with _LOCK:
        if key not in _STEPPERS:
            _STEPPERS[key] = Stepper(exercise)
        return _STEPPERS[key]


# Per-process, keyed by exercise version: a changed exercise simply gets a new stepper.
_STEPPERS: dict[str, Stepper] = {}
_LOCK = threading.Lock()
