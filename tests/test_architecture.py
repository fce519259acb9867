"""Boundaries the design relies on, checked rather than hoped for."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import grader

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


def grader_modules() -> dict[str, Path]:
    """Every module of the grader package by dotted name (a package by its __init__)."""
    modules = {}
    for path in GRADER.rglob("*.py"):
        parts = path.relative_to(GRADER.parent).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def grader_imports(path: Path) -> set[str]:
    """The grader modules a file imports when it runs (`if TYPE_CHECKING:` blocks are for readers only)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    checking_only = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING" for n in ast.walk(node)}
    known = grader_modules()
    found = set()
    for node in ast.walk(tree):
        if id(node) in checking_only:
            continue
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name in known}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0 and node.module.split(".")[0] == "grader":
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names if f"{node.module}.{alias.name}" in known}
    return {name for name in found if name in known}


def test_platform_folder_is_not_a_package():
    assert not (ROOT / "platform" / "__init__.py").exists()


def test_stdlib_platform_module_is_not_shadowed():
    import platform

    assert Path(platform.__file__).parent == Path(ast.__file__).parent
    assert platform.python_version().startswith("3.11")


def test_grader_never_imports_web_or_database_code():
    for path in GRADER.rglob("*.py"):
        assert not imported_modules(path) & {"flask", "sqlalchemy", "gradelab"}, path


def test_every_module_has_a_docstring():
    for path in GRADER.rglob("*.py"):
        if path.name != "__init__.py" or path.read_text(encoding="utf-8").strip():
            assert ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))), path


SANDBOX_LIBRARIES = set(sys.stdlib_module_names) | {"torch", "msgspec", "pyseccomp", "__future__", "grader"}


def sandbox_modules() -> set[str]:
    from grader.sandbox import sandbox_files

    by_path = {path: name for name, path in grader_modules().items()}
    return {by_path[GRADER / name] for name in sandbox_files()}


def test_the_sandbox_side_imports_only_itself():
    """The fork server, harness, recording, trace types and each kind's loop are mounted alone
    into the sandbox: what they import must be there too."""
    inside = sandbox_modules()
    modules = grader_modules()
    for name in inside:
        assert imported_modules(modules[name]) <= SANDBOX_LIBRARIES, name
        assert grader_imports(modules[name]) <= inside, name


def shared_types() -> set[str]:
    """The modules both sides import: the trace types, core and per kind."""
    return {"grader.trace"} | {name for name in sandbox_modules() if name.endswith(".trace")}


def test_the_two_sides_share_only_dependency_free_types():
    """The trusted side imports nothing of the sandbox side but the trace types (and the packages
    that hold them), and those import only the standard library, msgspec and each other."""
    modules = grader_modules()
    inside, shared = sandbox_modules(), shared_types()
    packages = {name for name in inside if modules[name].name == "__init__.py"}
    for name in set(modules) - inside:
        assert grader_imports(modules[name]) & inside <= shared | packages, name
    for name in shared:
        assert imported_modules(modules[name]) <= set(sys.stdlib_module_names) | {"msgspec", "__future__", "grader"}, name
        assert grader_imports(modules[name]) <= shared | packages, name


def test_the_grader_has_no_import_circles():
    modules = grader_modules()
    graph = {name: grader_imports(path) - {name} for name, path in modules.items()}
    assert not import_circles(graph)


def import_circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every circle of a module graph, each found once from where the walk entered it."""
    circles, state, path = [], {}, []

    def visit(name: str) -> None:
        state[name], _ = "open", path.append(name)
        for other in sorted(graph.get(name, ())):
            if state.get(other) == "open":
                circles.append(path[path.index(other) :] + [other])
            elif other not in state:
                visit(other)
        state[name], _ = "done", path.pop()

    for name in sorted(graph):
        if name not in state:
            visit(name)
    return circles


def test_the_circle_finder_finds_circles():
    assert import_circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
    assert import_circles({"a": {"b"}, "b": set()}) == []


def test_the_core_names_no_kind():
    """Kinds are reached through the registry only: no core module imports a kind's package."""
    for name, path in grader_modules().items():
        if not name.startswith("grader.drivers"):
            assert not {m for m in grader_imports(path) if m.startswith("grader.drivers.") and m != "grader.drivers.base"}, name


def test_every_kind_implements_the_driver_interface():
    from grader import registry
    from grader.drivers.base import Driver

    members = [name for name in vars(Driver) if not name.startswith("_")] + list(Driver.__annotations__)
    assert registry.kinds() and set(registry.drivers()) == set(registry.kinds())
    for kind, driver in registry.drivers().items():
        assert not [member for member in members if not hasattr(driver, member)], kind


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
    """claims.py is imported by every web process: the report, the specs and the Runner protocol only."""
    tree = ast.parse((WEB / "claims.py").read_text(encoding="utf-8"))
    used = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module}
    used |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    assert {name for name in used if name.split(".")[0] in ("grader", "torch")} <= {"grader.report", "grader.spec", "grader.sandbox"}
    assert {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.level == 1} == {"models"}


def test_the_trace_format_is_the_one_the_decoder_accepts():
    """`Trace.format` is a Literal for msgspec to check; FORMAT keys the caches: the two are one number."""
    import typing

    from grader import trace

    assert typing.get_args(typing.get_type_hints(trace.Trace)["format"]) == (trace.FORMAT,)

