"""The `calls` kind's `[[cases]]`: `args = { function = [argument, ...] }` for every function."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from grader.spec import Reader


@dataclass(frozen=True)
class CallCase:
    """The arguments each function of the contract is called with."""

    name: str
    hidden: bool
    args: Mapping[str, tuple[Any, ...]]


def read_cases(reader: Reader, data: Mapping[str, Any], contract: Mapping[str, Any]) -> tuple[CallCase, ...]:
    functions = contract["functions"]
    result = []
    for where, table in reader.case_tables(data):
        args = reader.get(table, "args", dict, where)
        if set(args) != set(functions):
            raise reader.fail(f"{where}.args", f"must give the arguments of exactly the functions {sorted(functions)}")
        for function, values in args.items():
            if not isinstance(values, list) or len(values) != len(functions[function]):
                raise reader.fail(f"{where}.args.{function}", f"expected a list of {len(functions[function])} arguments")
        hidden = reader.get(table, "hidden", bool, where)
        result.append(CallCase(table["name"], hidden, MappingProxyType({f: tuple(v) for f, v in args.items()})))
    return tuple(result)
