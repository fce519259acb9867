"""The `train` kind's `[[cases]]`: data, initial parameters, learning rate and epochs of each run."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from grader.spec import Reader

BATCH_MODES = ("sample", "full")


@dataclass(frozen=True)
class CaseSpec:
    """One run of the training loop as exercise.toml declares it.

    Tensor-valued fields stay in their declarative form (literal lists, `{fill, shape}` or
    `{randn}`); `grader.drivers.train.reference.materialize_case` turns them into numbers.
    """

    name: str
    hidden: bool
    batch: str
    x: Any
    y: Any
    x_test: Any
    init: Mapping[str, Any]
    lr: float
    epochs: int
    seed: int | None = None


def read_cases(reader: Reader, data: Mapping[str, Any], contract: Mapping[str, Any]) -> tuple[CaseSpec, ...]:
    parameters = contract["parameters"]
    result = []
    for where, table in reader.case_tables(data):
        lr = reader.get(table, "lr", (int, float), where)
        epochs = reader.get(table, "epochs", int, where)
        if epochs < 1:
            raise reader.fail(f"{where}.epochs", "must be at least 1")
        case = CaseSpec(
            name=table["name"],
            hidden=reader.get(table, "hidden", bool, where),
            batch=reader.choice(table, "batch", BATCH_MODES, where),
            x=reader.tensor_value(table, "x", where),
            y=reader.tensor_value(table, "y", where),
            x_test=reader.tensor_value(table, "x_test", where),
            init=MappingProxyType({k: reader.tensor_value(reader.get(table, "init", dict, where), k, f"{where}.init") for k in table["init"]}),
            lr=float(lr),
            epochs=epochs,
            seed=reader.get(table, "seed", int, where) if "seed" in table else None,
        )
        if set(case.init) != set(parameters):
            missing, extra = sorted(set(parameters) - set(case.init)), sorted(set(case.init) - set(parameters))
            raise reader.fail(f"{where}.init", f"must give exactly the parameters {sorted(parameters)}; missing {missing}, unknown {extra}")
        result.append(case)
    return tuple(result)
