"""The `train` kind in the sandbox: drives `loss` -> `backward` -> `update(lr)` over a case.

Mounted into the sandbox with the harness; it shares a process with student code, so it
imports the standard library, torch, the trace types and the recording primitives only, is
handed inputs but never expected values, and returns facts, never a verdict.
"""

from __future__ import annotations

import inspect
import types
from typing import Any

import torch

from grader.drivers.train.trace import Case, CaseRecord, Init, Step
from grader.record import describe, error_record

CASE_TYPE = Case

# Captured when the loop is imported, before any student code runs (the fork server imports
# it before it forks): what a submission could replace to hand in gradients of its own.
# The namespaces themselves (live views: a replacement shows in them), each with the entries it
# must keep; read by plain lookups, a microsecond per step instead of inspect.getattr_static's ten.
_GRAD = inspect.getattr_static(torch.Tensor, "grad")  # the descriptor autograd writes through
_AUTOGRAD_ENTRIES = tuple(
    (namespace, {name: namespace[name] for name in names})
    for namespace, names in ((vars(torch.Tensor), ("backward",)), (vars(torch.autograd), ("backward", "grad")))
)
_TENSOR_CLASSES = tuple(vars(cls) for cls in torch.Tensor.__mro__)  # where `.grad` is looked up, in order
_REGISTER_HOOK = torch.Tensor.register_post_accumulate_grad_hook


class StopCase(Exception):
    """The loop cannot go on: the case ends here, for a reason the parent will diagnose."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def install_parameters(module: types.ModuleType, init: dict[str, Init]) -> None:
    """Fresh float32 leaf tensors that require grad, bound as the module's globals."""
    for name, value in init.items():
        tensor = torch.tensor(value.values, dtype=torch.float32).reshape(value.shape)
        setattr(module, name, tensor.requires_grad_(True))


def gradient_of(module: types.ModuleType, name: str) -> Any:
    """The parameter's `.grad`, read the way autograd fills it.

    A non-leaf has no `.grad` unless it retains it (reading it anyway only warns and gives
    None): the trace records None and the parent diagnoses the lost leaf.
    """
    parameter = getattr(module, name, None)
    if not isinstance(parameter, torch.Tensor) or not (parameter.is_leaf or parameter.retains_grad):
        return None
    return _GRAD.__get__(parameter)  # the tensor's own .grad, whatever a submission put on the class


def is_autograd_replaced() -> bool:
    """Whether `Tensor.backward`, `torch.autograd.backward` or `.grad` is no longer torch's own."""
    if any(namespace.get(name) is not original for namespace, entries in _AUTOGRAD_ENTRIES for name, original in entries.items()):
        return True
    return next((namespace["grad"] for namespace in _TENSOR_CLASSES if "grad" in namespace), None) is not _GRAD


class GradientWatch:
    """Which parameters' gradients one backward() changed without autograd's engine writing them.

    A post-accumulate-grad hook on each current leaf parameter fires only when the engine
    accumulates into its .grad; a gradient that changed without it (set by hand, by a replaced
    backward, on a parameter rebound meanwhile) did not come from autograd. A gradient left as
    it was (a parameter outside this step's graph) is not counted.
    """

    def __init__(self, module: types.ModuleType, names: list[str]) -> None:
        self.module = module
        self.written: set[str] = set()
        self.before: dict[str, tuple[torch.Tensor, torch.Tensor | None, int | None]] = {}
        self.handles: list[Any] = []
        for name in names:
            parameter = getattr(module, name, None)
            if isinstance(parameter, torch.Tensor) and parameter.is_leaf and parameter.requires_grad:
                grad = _GRAD.__get__(parameter)
                self.before[name] = (parameter, grad, grad._version if grad is not None else None)
                self.handles.append(_REGISTER_HOOK(parameter, lambda _, name=name: self.written.add(name)))

    def not_from_autograd(self) -> list[str]:
        for handle in self.handles:
            handle.remove()
        replaced = is_autograd_replaced()
        missed = []
        for name, (parameter, grad, version) in self.before.items():
            current = getattr(self.module, name, None)
            now = gradient_of(self.module, name)
            changed = current is not parameter or now is not grad or (now is not None and now._version != version)
            if now is not None and (replaced or (changed and name not in self.written)):
                missed.append(name)
        return missed


def training_samples(case: Case) -> list[tuple[Any, Any]]:
    """Per-sample steps take Python floats, as the seeds do; full-batch steps take tensors."""
    if case.batch == "sample":
        return list(zip(case.x, case.y))
    return [(torch.tensor(case.x, dtype=torch.float32), torch.tensor(case.y, dtype=torch.float32))]


def test_input(case: Case) -> Any:
    if case.batch == "sample":
        return case.x_test
    return torch.tensor(case.x_test, dtype=torch.float32)


def is_in_graph(loss: Any) -> bool:
    return isinstance(loss, torch.Tensor) and loss.requires_grad and loss.grad_fn is not None


def parameter_fault(value: Any) -> str | None:
    if not isinstance(value, torch.Tensor):
        return "not_tensor"
    if not (value.is_floating_point() or value.is_complex()):
        return "integer_dtype"
    if not value.requires_grad:
        return "lost_requires_grad"
    if not value.is_leaf:
        return "non_leaf"
    return None


def run_case(module: types.ModuleType, case: Case, source_lines: list[str]) -> CaseRecord:
    """Drive `loss` -> `backward` -> `update(lr)` over the case, recording every step.

    The record of a step is appended before the step runs, so a step that raises still shows
    how far it got; the case then stops, with the exception or the reason recorded.
    """
    record = CaseRecord(name=case.name, probe=[], steps=[])
    where: dict[str, Any] = {"phase": "forward", "step": None}
    names = list(case.init)
    try:
        install_parameters(module, case.init)
        for x, _ in training_samples(case):
            record.probe.append(describe(module.forward(x)))
        install_parameters(module, case.init)
        for epoch in range(case.epochs):
            for index, (x, y) in enumerate(training_samples(case)):
                step = Step(epoch=epoch, sample=index)
                record.steps.append(step)
                where["step"] = len(record.steps)
                _run_step(module, step, names, x, y, case.lr, where)
        where.update(phase="prediction", step=None)
        record.prediction = describe(module.forward(test_input(case)))
    except StopCase as stop:
        record.stopped = stop.reason  # type: ignore[assignment]  # one of the reasons StopCase is raised with
    except BaseException as error:  # student code may raise anything, SystemExit included
        record.error = error_record(error, source_lines, where["phase"], where["step"])
    return record


def _run_step(module: types.ModuleType, step: Step, names: list[str], x: Any, y: Any, lr: float, where: dict[str, Any]) -> None:
    where["phase"] = "loss"
    loss = module.loss(x, y)
    step.loss = describe(loss)
    if not is_in_graph(loss):
        raise StopCase("detached_loss")
    where["phase"] = "backward"
    watch = GradientWatch(module, names)
    loss.backward()
    step.grads = {name: describe(gradient_of(module, name)) for name in names}
    if missed := watch.not_from_autograd():
        step.not_autograd = missed
    where["phase"] = "update"
    module.update(lr)
    step.params = {name: describe(getattr(module, name, None)) for name in names}
    step.grads_after = {name: describe(gradient_of(module, name)) for name in names}
    faults = {name: parameter_fault(getattr(module, name, None)) for name in names}
    if any(faults.values()):
        step.faults = {name: fault for name, fault in faults.items() if fault}  # type: ignore[misc]
        raise StopCase("parameter_fault")
