"""The `function` kind's sections of exercise.toml: `[function]` (the class and its inputs) and `[[cases]]`.

    [function]
    class = "Square"       # must also be in [contract] classes
    inputs = ["x"]         # the arguments of forward(ctx, ...), in order

    [[cases]]
    name = "seed"
    hidden = false
    seed = 0               # for the randn values below
    inputs = { x = [1.0, -2.0, 3.0] }      # each a literal, {randn = [shape]} or {fill, shape}
    grad_output = { randn = [3] }          # the vector backward starts from: the output's shape
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from grader.spec import Reader


@dataclass(frozen=True)
class CaseSpec:
    """One evaluation as exercise.toml declares it; `cases.materialize_case` draws its numbers."""

    name: str
    hidden: bool
    function: str
    inputs: Mapping[str, Any]
    grad_output: Any
    seed: int


def read_cases(reader: Reader, data: Mapping[str, Any], contract: Mapping[str, Any]) -> tuple[CaseSpec, ...]:
    section = reader.get(data, "function", dict)
    function = reader.get(section, "class", str, "function")
    if function not in contract["classes"]:
        raise reader.fail("function.class", f"{function!r} must be one of the classes of [contract] classes")
    names = reader.get(section, "inputs", list, "function")
    if not names or not all(isinstance(name, str) and name.isidentifier() for name in names) or len(set(names)) != len(names):
        raise reader.fail("function.inputs", "expected the names of forward's arguments after ctx, each once")
    result = []
    for where, table in reader.case_tables(data):
        inputs = reader.get(table, "inputs", dict, where)
        if list(inputs) != names:
            raise reader.fail(f"{where}.inputs", f"must give exactly the inputs {names}, in that order")
        result.append(
            CaseSpec(
                name=table["name"],
                hidden=reader.get(table, "hidden", bool, where),
                function=function,
                inputs=MappingProxyType({name: reader.tensor_value(inputs, name, f"{where}.inputs") for name in names}),
                grad_output=reader.tensor_value(table, "grad_output", where),
                seed=reader.get(table, "seed", int, where) if "seed" in table else 0,
            )
        )
    return tuple(result)
