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



def _web_module(name: str) -> str:
    """The module of the web package that `from . import name` (or `gradelab.name`) imports."""
    return name if (WEB / f"{name}.py").exists() else "__init__"


def _web_imports_in(tree: ast.AST) -> set[str]:
    """The web package's own modules imported anywhere in `tree`: at the top, in functions, under TYPE_CHECKING."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.level == 1 or (node.level == 0 and (node.module or "").split(".")[0] == "gradelab")):
            parts = (node.module or "").split(".")[node.level == 0 :]  # what follows `gradelab.` or `.`
            found |= {_web_module(parts[0])} if parts and parts[0] else {_web_module(alias.name) for alias in node.names}
        elif isinstance(node, ast.Import):
            found |= {_web_module(alias.name.split(".")[1]) for alias in node.names if alias.name.startswith("gradelab.")}
    return found


def _import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Each strongly connected set of two or more modules (or a module importing itself), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles = []

    def visit(module: str) -> None:  # Tarjan's algorithm
        index[module] = low[module] = len(index)
        stack.append(module)
        for imported in sorted(graph.get(module, ())):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            members = []
            while not members or members[-1] != module:
                members.append(stack.pop())
            if len(members) > 1 or module in graph.get(module, ()):
                cycles.append(sorted(members))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return sorted(cycles)


def test_the_web_package_has_no_import_circles():
    """Lazy imports in functions count too: a circle of them is still two modules that need each other."""
    graph = {path.stem: _web_imports_in(ast.parse(path.read_text(encoding="utf-8"))) - {path.stem} for path in WEB.glob("*.py")}
    assert {"claims", "db", "grading", "tasks"} <= graph["queue"] and "__init__" in graph["cli"]  # top-level and lazy imports are seen
    assert _import_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]  # and a circle is found
    assert _import_cycles(graph) == []


def test_only_what_grades_imports_the_grading_module_and_only_when_it_grades():
    """grading.py imports grader.grading, hence torch: the site loads it only in the code that grades."""
    importers: dict[str, set[str]] = {}
    for path in WEB.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        functions = [node for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]
        in_functions = {id(node) for function in functions for node in ast.walk(function)}
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)) and path.stem != "grading" and "grading" in _web_imports_in(node):
                importers.setdefault(path.stem, set()).add("in a function" if id(node) in in_functions else "at import")
    assert importers == {"queue": {"in a function"}, "tasks": {"in a function"}, "cli": {"in a function"}}


TORCH_FREE_SITE = """
import json, sys
from gradelab import create_app
import gradelab.cli  # the `gradelab` command's own start
app = create_app()
page = app.test_client().get("/login")
loaded = [name for name in ("torch", "grader.grading", "gradelab.grading") if name in sys.modules]
print(json.dumps({"backend": app.config["GRADING_BACKEND"], "login": page.status_code, "loaded": loaded, "celery": "celery" in sys.modules}))
"""


def test_the_site_imports_no_torch_whatever_its_grading_backend(tmp_path):
    """A fresh interpreter each: in this one, other tests have long imported torch."""
    import json
    import os
    import subprocess

    clean = {key: value for key, value in os.environ.items() if not key.startswith("GRADELAB_") or key == "GRADELAB_CACHE_DIR"}
    embedded = {**clean, "GRADELAB_INSTANCE_PATH": str(tmp_path / "instance"), "GRADELAB_SECRET_KEY": "test"}
    celery = {**embedded, "GRADELAB_GRADING_BACKEND": "celery", "GRADELAB_BROKER_URL": "redis://127.0.0.1:9/0"}  # never reached
    seen = []
    for environment in (embedded, celery):
        started = subprocess.run([sys.executable, "-c", TORCH_FREE_SITE], env=environment, cwd=tmp_path, capture_output=True, text=True, timeout=120)
        assert started.returncode == 0, started.stderr
        seen.append(json.loads(started.stdout.strip().splitlines()[-1]))
    assert seen == [
        {"backend": "inprocess", "login": 200, "loaded": [], "celery": False},
        {"backend": "celery", "login": 200, "loaded": [], "celery": True},
    ]


def test_the_lease_layer_uses_only_the_torch_free_parts_of_the_grader():
    """claims.py is imported by every web process: the report, its rendering, the specs and the Runner protocol only."""
    tree = ast.parse((WEB / "claims.py").read_text(encoding="utf-8"))
    used = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module}
    used |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    assert {name for name in used if name.split(".")[0] in ("grader", "torch")} <= {"grader.report", "grader.render", "grader.spec", "grader.sandbox"}
    assert {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.level == 1} == {"models"}
