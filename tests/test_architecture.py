"""Boundaries the design relies on, checked rather than hoped for."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import grader
from grader.checks import CHECKS
from grader.spec import DRIVER_CHECKS

ROOT = Path(__file__).resolve().parent.parent
GRADER = Path(grader.__file__).parent


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_platform_folder_is_not_a_package():
    assert not (ROOT / "platform" / "__init__.py").exists()


def test_stdlib_platform_module_is_not_shadowed():
    import platform

    assert Path(platform.__file__).parent == Path(ast.__file__).parent
    assert platform.python_version().startswith("3.11")


def test_grader_never_imports_web_or_database_code():
    for path in GRADER.glob("*.py"):
        assert not imported_modules(path) & {"flask", "sqlalchemy", "gradelab"}, path.name


def test_harness_is_self_contained():
    """It shares a process with student code in the sandbox: standard library and torch only."""
    allowed = set(sys.stdlib_module_names) | {"torch", "__future__"}
    assert imported_modules(GRADER / "harness.py") <= allowed


def test_check_registry_matches_the_driver_vocabulary():
    assert tuple(CHECKS) == DRIVER_CHECKS["train"]


def test_every_module_has_a_docstring():
    for path in GRADER.glob("*.py"):
        if path.name != "__init__.py" or path.read_text(encoding="utf-8").strip():
            assert ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))), path.name


def test_sandbox_side_modules_import_nothing_of_the_trusted_side():
    """The fork server, harness and confinement are mounted alone into the sandbox."""
    from grader.sandbox import SANDBOX_FILES

    neighbours = {Path(name).stem for name in SANDBOX_FILES}
    allowed = set(sys.stdlib_module_names) | {"torch", "pyseccomp", "__future__"} | neighbours
    for name in SANDBOX_FILES:
        assert imported_modules(GRADER / name) <= allowed, name


WEB = ROOT / "platform" / "gradelab"


def test_data_layer_of_the_site_is_flask_free():
    """The worker, the CLI and migrations use these without an app."""
    for name in ("models.py", "claims.py", "demo.py"):
        assert "flask" not in imported_modules(WEB / name) | _relative_flask_imports(WEB / name), name


def _relative_flask_imports(path: Path) -> set[str]:
    """Sibling modules imported with `from .x import` that themselves import flask."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    siblings = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module}
    return {"flask" for sibling in siblings if "flask" in imported_modules(WEB / f"{sibling}.py")}


def test_every_web_module_has_a_docstring():
    for path in WEB.glob("*.py"):
        assert ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))), path.name
