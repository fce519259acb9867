"""The trusted side's reference: concrete case inputs, cached reference traces, reference steps.

The reference solution is instructor code and runs in the grader's own process, through the same
`harness.run_case` loop as student code, so both traces have one format. Whole reference traces
are cached on disk per exercise version and torch version; single steps from a student's own
state are computed on demand, which is what lets `compare` judge each step as a transition.
"""

from __future__ import annotations

import json
import os
import threading
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from grader import harness
from grader.spec import Case, Exercise

CACHE_ENV = "GRADELAB_CACHE_DIR"


def materialize_case(case: Case, parameters: dict[str, tuple[int, ...]]) -> dict[str, Any]:
    """The case as the harness takes it: plain numbers, random initial values drawn here."""
    generator = torch.Generator().manual_seed(case.seed if case.seed is not None else 0)
    init = {}
    for name, value in case.init.items():
        tensor = _tensor_from(value, generator)
        if tuple(tensor.shape) != tuple(parameters[name]):
            tensor = tensor.reshape(parameters[name])
        init[name] = {"shape": list(tensor.shape), "values": tensor.reshape(-1).tolist()}
    plain = case.batch == "sample"
    return {
        "name": case.name,
        "hidden": case.hidden,
        "batch": case.batch,
        "x": case.x if plain else _tensor_from(case.x, generator).tolist(),
        "y": case.y if plain else _tensor_from(case.y, generator).tolist(),
        "x_test": case.x_test if plain else _tensor_from(case.x_test, generator).tolist(),
        "init": init,
        "lr": case.lr,
        "epochs": case.epochs,
    }


def _tensor_from(value: Any, generator: torch.Generator) -> torch.Tensor:
    if isinstance(value, dict) and "randn" in value:
        return torch.randn(*value["randn"], generator=generator)
    if isinstance(value, dict):
        return (torch.ones if value["fill"] == "ones" else torch.zeros)(*value["shape"])
    return torch.tensor(value, dtype=torch.float32)


def job_cases(exercise: Exercise) -> list[dict[str, Any]]:
    if exercise.driver == "calls":
        return [{"name": case.name, "hidden": case.hidden, "args": {f: list(a) for f, a in case.args.items()}} for case in exercise.cases]
    return [materialize_case(case, dict(exercise.parameters)) for case in exercise.cases]


def load_reference(exercise: Exercise) -> types.ModuleType:
    """A fresh module object running the exercise's reference solution (trusted code)."""
    source = exercise.reference_path.read_text(encoding="utf-8")
    module = types.ModuleType(f"gradelab_reference_{exercise.slug}")
    module.__file__ = str(exercise.reference_path)
    exec(compile(source, str(exercise.reference_path), "exec"), module.__dict__)
    return module


def cache_dir() -> Path:
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "gradelab" / "references"
    return Path(os.environ.get(CACHE_ENV, default))


def cache_key(exercise: Exercise) -> str:
    return f"{exercise.slug}-{exercise.version}-torch{torch.__version__}-trace{harness.TRACE_FORMAT}"


def reference_traces(exercise: Exercise) -> dict[str, dict[str, Any]]:
    """Each case's reference trace by case name: from memory, or disk if this version ran before."""
    key = cache_key(exercise)
    with _CACHE_LOCK:
        if key not in _TRACES:
            _TRACES[key] = _load_or_compute_traces(exercise, cache_dir() / f"{key}.json")
        return _TRACES[key]


def _load_or_compute_traces(exercise: Exercise, path: Path) -> dict[str, dict[str, Any]]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        pass
    traces = compute_reference_traces(exercise)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(json.dumps(traces), encoding="utf-8")
        temporary.replace(path)  # atomic: concurrent graders never read half a file
    except OSError:
        pass  # a read-only cache only costs time
    return traces


def compute_reference_traces(exercise: Exercise) -> dict[str, dict[str, Any]]:
    torch.set_num_threads(1)
    module = load_reference(exercise)
    lines = exercise.reference_path.read_text(encoding="utf-8").splitlines()
    traces = {}
    for case in job_cases(exercise):
        if exercise.driver == "calls":
            trace = harness.run_calls(module, case, lines)
            failure = next((call["error"] for call in trace["calls"].values() if "error" in call), None)
        else:
            trace = harness.run_case(module, case, lines)
            failure = trace["error"] or trace["stopped"]
        if failure:
            raise RuntimeError(f"{exercise.reference_path}: the reference fails on case {case['name']!r}: {failure}")
        traces[case["name"]] = trace
    return traces


@dataclass(frozen=True)
class StepResult:
    """One reference step from given parameter values: its loss, gradients and new values."""

    loss: list[float]
    grads: dict[str, list[float]]
    params: dict[str, list[float]]


class Stepper:
    """Runs the reference's own `loss`, `backward` and `update` from any parameter values.

    The reference keeps its parameters as module globals, so one stepper serves one thread at a
    time: each public method holds the stepper's lock for the whole install-compute-read cycle.
    """

    def __init__(self, exercise: Exercise) -> None:
        self.module = load_reference(exercise)
        self.shapes = dict(exercise.parameters)
        self.lock = threading.Lock()

    def _install(self, values: dict[str, list[float]]) -> None:
        harness.install_parameters(self.module, {n: {"shape": list(s), "values": values[n]} for n, s in self.shapes.items()})

    def loss_and_grads(self, values: dict[str, list[float]], x: Any, y: Any) -> tuple[list[float], dict[str, list[float]]]:
        with self.lock:
            self._install(values)
            loss = self.module.loss(x, y)
            loss.backward()
            grads = {name: getattr(self.module, name).grad.reshape(-1).to(torch.float64).tolist() for name in self.shapes}
            return loss.detach().reshape(-1).to(torch.float64).tolist(), grads

    def updated(self, values: dict[str, list[float]], grads: dict[str, list[float]], lr: float) -> dict[str, list[float]]:
        """The reference update applied to the student's own values and gradients."""
        with self.lock:
            self._install(values)
            for name, shape in self.shapes.items():
                getattr(self.module, name).grad = torch.tensor(grads[name], dtype=torch.float32).reshape(shape)
            self.module.update(lr)
            return {name: getattr(self.module, name).detach().reshape(-1).to(torch.float64).tolist() for name in self.shapes}


def stepper_for(exercise: Exercise) -> Stepper:
    key = cache_key(exercise)
    with _CACHE_LOCK:
        if key not in _STEPPERS:
            _STEPPERS[key] = Stepper(exercise)
        return _STEPPERS[key]


# Per-process caches keyed by exercise version: a changed exercise simply gets a new key.
_TRACES: dict[str, dict[str, dict[str, Any]]] = {}
_STEPPERS: dict[str, Stepper] = {}
_CACHE_LOCK = threading.RLock()
