"""The read-only registry of exercise kinds: every package under `grader/drivers/` that has a
`driver.py` exposing DRIVER is a kind, named by its folder.

The core reaches a kind only through here. Finding the kinds reads the folder, nothing more;
a kind's driver module is imported the first time it is asked for, so that a process that only
lists kinds (the sandbox's mount table) imports none of them.
"""

from __future__ import annotations

import importlib
import threading
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

    from grader.drivers.base import Driver

DRIVERS_DIR = Path(__file__).resolve().parent / "drivers"


def kinds() -> tuple[str, ...]:
    """The names of the kinds, sorted."""
    return tuple(sorted(p.parent.name for p in DRIVERS_DIR.glob("*/driver.py")))


def driver(kind: str) -> Driver:
    """The kind's driver; KeyError naming the known kinds when there is no such kind."""
    found = drivers()
    if kind not in found:
        raise KeyError(f"{kind!r} is not a kind of exercise; the known kinds are {', '.join(found)}")
    return found[kind]


def drivers() -> Mapping[str, Driver]:
    with _LOCK:
        if _DRIVERS is None:
            _load()
        assert _DRIVERS is not None
        return _DRIVERS


def sandbox_files() -> tuple[str, ...]:
    """Each kind's files that are mounted into the sandbox, relative to the grader package."""
    files = ["drivers/__init__.py"]
    for kind in kinds():
        package = importlib.import_module(f"grader.drivers.{kind}")  # its __init__: a docstring and a tuple
        files += [f"drivers/{kind}/__init__.py", *(f"drivers/{kind}/{name}" for name in package.SANDBOX_FILES)]
    return tuple(files)


def _load() -> None:
    global _DRIVERS
    found = {}
    for kind in kinds():
        module = importlib.import_module(f"grader.drivers.{kind}.driver")
        found[kind] = module.DRIVER
        assert found[kind].name == kind, f"grader/drivers/{kind}: its DRIVER is named {found[kind].name!r}"
    _DRIVERS = MappingProxyType(found)


_DRIVERS: Mapping[str, Driver] | None = None
_LOCK = threading.Lock()
