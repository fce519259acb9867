"""Exercise folders to frozen specs, with errors that name the file and the field at fault.

An exercise is data, not code: a folder with `exercise.toml`, two statements, a starter, a
reference solution, known-correct `solutions/` and labelled `mistakes/`. Everything else in the
grader reads these dataclasses, so a broken folder fails here, once, with a message an author can
act on, instead of somewhere deep in grading.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import tomllib

from grader import registry

if TYPE_CHECKING:
    from grader.drivers.base import Driver

LANGUAGES = ("en", "zh")
FORMS = ("contract", "notebook")  # how a submission may come: a Python module, or a Jupyter notebook of one
DEFAULT_ORDER = 1000
LABEL_PATTERN = re.compile(r"^#\s*expect:\s*(?P<label>[a-z_]+)\s*$", re.MULTILINE)
DEFAULT_EXERCISES_DIR = Path(__file__).resolve().parent.parent / "exercises"


class ExerciseError(ValueError):
    """A broken exercise folder: says which file and which field, and what was wrong."""

    def __init__(self, path: Path, field_name: str, problem: str) -> None:
        self.path = path
        self.field_name = field_name
        self.problem = problem
        where = f"{path}: {field_name}" if field_name else str(path)
        super().__init__(f"{where}: {problem}")


@dataclass(frozen=True)
class Tolerance:
    """Closeness as in torch.isclose: |actual - expected| <= atol + rtol * |expected|."""

    rtol: float
    atol: float


@dataclass(frozen=True)
class Limits:
    """What a child running a submission may use (its visible and hidden cases, or one of them).

    `memory_mb` is address space on top of the warm sandbox's own (torch included), so it reads
    as "this much more than an empty submission". Processes are not a knob: the sandbox lets a
    submission start none (threads only).
    """

    timeout_s: float = 20.0
    cpu_s: float = 10.0
    memory_mb: int = 512
    max_output_bytes: int = 64 * 1024
    max_source_bytes: int = 256 * 1024
    max_file_bytes: int = 1024 * 1024
    open_files: int = 64


@dataclass(frozen=True)
class LabelledFile:
    """A known-correct or known-mistaken submission that `check-exercises` grades."""

    path: Path
    label: str | None

    def read(self) -> str:
        return self.path.read_text(encoding="utf-8")


@dataclass(frozen=True)
class Exercise:
    slug: str
    path: Path
    version: str
    title: Mapping[str, str]
    driver: str  # the exercise's kind: a name in `grader.registry`
    functions: Mapping[str, tuple[str, ...]]
    parameters: Mapping[str, tuple[int, ...]]
    cases: tuple[Any, ...]  # of the kind's own case type; each has `name` and `hidden`
    points: Mapping[str, int]
    tolerances: Mapping[str, Tolerance]
    limits: Limits = field(default_factory=Limits)
    order: int = DEFAULT_ORDER  # place in the course: lists show exercises by it
    classes: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))  # name: the class it must extend
    forms: tuple[str, ...] = FORMS  # the forms of submission it accepts (`forms` in exercise.toml)

    @property
    def max_score(self) -> int:
        hidden = sum(1 for case in self.cases if case.hidden)
        return sum(p for name, p in self.points.items() if name != "hidden") + hidden * self.points.get("hidden", 0)

    @property
    def visible_cases(self) -> tuple[Any, ...]:
        return tuple(case for case in self.cases if not case.hidden)

    def statement(self, lang: str = "en") -> str:
        if lang not in LANGUAGES:
            raise ValueError(f"unknown language {lang!r}; choose one of {', '.join(LANGUAGES)}")
        return (self.path / f"statement.{lang}.md").read_text(encoding="utf-8")

    def starter(self) -> str:
        return (self.path / "starter.py").read_text(encoding="utf-8")

    @property
    def reference_path(self) -> Path:
        return self.path / "reference.py"

    def solutions(self) -> list[LabelledFile]:
        return [LabelledFile(p, None) for p in sorted((self.path / "solutions").glob("*.py"))]

    def mistakes(self) -> list[LabelledFile]:
        return [LabelledFile(p, read_label(p)) for p in sorted((self.path / "mistakes").glob("*.py"))]


def read_label(path: Path) -> str:
    """The diagnosis code a mistake file declares with a `# expect: code` line."""
    match = LABEL_PATTERN.search(path.read_text(encoding="utf-8"))
    if match is None:
        raise ExerciseError(path, "# expect:", "a mistake file must say which diagnosis it expects, e.g. '# expect: wrong_sign'")
    return match["label"]


def exercises_dir() -> Path:
    return Path(os.environ.get("GRADELAB_EXERCISES_DIR", DEFAULT_EXERCISES_DIR))


def load_catalog(root: Path | None = None) -> dict[str, Exercise]:
    """Every exercise folder under `root`, by slug, in course order (`order`, then name)."""
    root = root or exercises_dir()
    if not root.is_dir():
        raise ExerciseError(root, "", "no exercises folder here (set GRADELAB_EXERCISES_DIR)")
    folders = sorted(p for p in root.iterdir() if (p / "exercise.toml").is_file())
    exercises = sorted((load_exercise(folder) for folder in folders), key=lambda exercise: (exercise.order, exercise.slug))
    return {exercise.slug: exercise for exercise in exercises}


def load_exercise(folder: Path) -> Exercise:
    toml_path = folder / "exercise.toml"
    try:
        data = tomllib.loads(toml_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ExerciseError(toml_path, "", "file is missing") from None
    except tomllib.TOMLDecodeError as error:
        raise ExerciseError(toml_path, "", f"not valid TOML: {error}") from None
    reader = Reader(toml_path)
    kind = _driver(reader, data)
    contract = {"functions": reader.functions(data), "parameters": reader.parameters(data, required=kind.needs_parameters), "classes": reader.classes(data)}
    exercise = Exercise(
        slug=folder.name,
        path=folder,
        version=folder_version(folder),
        title=reader.languages(data, "title"),
        driver=kind.name,
        cases=kind.read_cases(reader, data, contract),
        points=reader.points(data, kind.checks(contract["functions"])),
        tolerances=reader.tolerances(data),
        limits=reader.limits(data),
        order=reader.get(data, "order", int) if "order" in data else DEFAULT_ORDER,
        forms=reader.forms(data),
        **contract,
    )
    _check_files(exercise)
    if not exercise.visible_cases:
        raise ExerciseError(reader.path, "cases", "at least one case must be visible (hidden = false)")
    return exercise


def _driver(reader: Reader, data: Mapping[str, Any]) -> Driver:
    """The kind that exercise.toml's `driver` names, or the error that lists the known kinds."""
    name = reader.get(data, "driver", str)
    try:
        return registry.driver(name)
    except KeyError:
        raise reader.fail("driver", f"{name!r} is not a kind of exercise; the known kinds are {', '.join(registry.kinds())}") from None


def folder_version(folder: Path) -> str:
    """A short content hash: any change to any file of the exercise makes a new version."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        digest.update(path.relative_to(folder).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def _check_files(exercise: Exercise) -> None:
    required = ["starter.py", "reference.py"] + [f"statement.{lang}.md" for lang in LANGUAGES]
    for name in required:
        if not (exercise.path / name).is_file():
            raise ExerciseError(exercise.path / name, "", "file is missing")
    exercise.mistakes()  # raises on a mistake file without its `# expect:` label


class Reader:
    """Typed access to the TOML tree; every error names the file and the dotted field.

    Kinds read their own sections with it (`Driver.read_cases`), so their errors read the same.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, field_name: str, problem: str) -> ExerciseError:
        return ExerciseError(self.path, field_name, problem)

    def get(self, table: Mapping[str, Any], key: str, kind: type | tuple[type, ...], where: str = "") -> Any:
        name = f"{where}.{key}" if where else key
        if key not in table:
            raise self.fail(name, "is required")
        value = table[key]
        if isinstance(value, bool) and kind in (int, float, (int, float)):
            raise self.fail(name, f"expected a number, got {value!r}")
        if not isinstance(value, kind):
            kinds = kind if isinstance(kind, tuple) else (kind,)
            expected = " or ".join(k.__name__ for k in kinds)
            raise self.fail(name, f"expected {expected}, got {type(value).__name__} {value!r}")
        return value

    def languages(self, data: Mapping[str, Any], key: str) -> Mapping[str, str]:
        table = self.get(data, key, dict)
        for lang in LANGUAGES:
            self.get(table, lang, str, key)
        return MappingProxyType({lang: table[lang] for lang in LANGUAGES})

    def choice(self, data: Mapping[str, Any], key: str, allowed: tuple[str, ...], where: str = "") -> str:
        value = self.get(data, key, str, where)
        if value not in allowed:
            raise self.fail(f"{where}.{key}" if where else key, f"{value!r} is not one of {', '.join(allowed)}")
        return value

    def functions(self, data: Mapping[str, Any]) -> Mapping[str, tuple[str, ...]]:
        table = self.get(self.get(data, "contract", dict), "functions", dict, "contract")
        result = {}
        for name, args in table.items():
            if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
                raise self.fail(f"contract.functions.{name}", "expected a list of argument names")
            result[name] = tuple(args)
        return MappingProxyType(result)

    def parameters(self, data: Mapping[str, Any], required: bool = True) -> Mapping[str, tuple[int, ...]]:
        """The module-level tensors the harness installs; a `calls` exercise may have none."""
        contract = self.get(data, "contract", dict)
        if not required and "parameters" not in contract:
            return MappingProxyType({})
        table = self.get(contract, "parameters", dict, "contract")
        result = {}
        for name, shape in table.items():
            if not isinstance(shape, list) or not all(isinstance(n, int) and n > 0 for n in shape):
                raise self.fail(f"contract.parameters.{name}", "expected a shape: a list of positive integers")
            result[name] = tuple(shape)
        if required and not result:
            raise self.fail("contract.parameters", "name at least one parameter")
        return MappingProxyType(result)

    def forms(self, data: Mapping[str, Any]) -> tuple[str, ...]:
        """`forms = ["contract", "notebook"]`: the forms of submission accepted (default: all)."""
        if "forms" not in data:
            return FORMS
        forms = self.get(data, "forms", list)
        if not forms or not all(form in FORMS for form in forms):
            raise self.fail("forms", f"expected a list of forms among {', '.join(FORMS)}")
        return tuple(forms)

    def classes(self, data: Mapping[str, Any]) -> Mapping[str, str]:
        """`[contract] classes = { Name = "torch.autograd.Function" }`: classes the file must define."""
        table = self.get(data, "contract", dict).get("classes", {})
        if not isinstance(table, dict) or not all(isinstance(v, str) and "." in v for v in table.values()):
            raise self.fail("contract.classes", "expected a table of class names to dotted base classes")
        return MappingProxyType(dict(table))

    def case_tables(self, data: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
        """Each `[[cases]]` table with its dotted place, checked to be a table with a unique name."""
        cases = self.get(data, "cases", list)
        if not cases:
            raise self.fail("cases", "at least one case is required")
        names: set[str] = set()
        tables = []
        for index, table in enumerate(cases):
            where = f"cases[{index}]"
            if not isinstance(table, dict):
                raise self.fail(where, "expected a table ([[cases]])")
            name = self.get(table, "name", str, where)
            if name in names:
                raise self.fail(f"{where}.name", f"{name!r} is used twice")
            names.add(name)
            tables.append((where, table))
        return tables

    def tensor_value(self, table: Mapping[str, Any], key: str, where: str) -> Any:
        """A literal number or nested list, `{fill = "ones"|"zeros", shape}`, or `{randn = shape}`."""
        value = self.get(table, key, (int, float, list, dict), where)
        name = f"{where}.{key}"
        if isinstance(value, dict):
            if "randn" in value:
                shape = value["randn"]
            elif value.get("fill") in ("ones", "zeros"):
                shape = value.get("shape")
            else:
                raise self.fail(name, "a table value needs randn = [shape] or fill = 'ones'|'zeros' with shape = [...]")
            if not isinstance(shape, list) or not all(isinstance(n, int) and n > 0 for n in shape):
                raise self.fail(name, "shape must be a list of positive integers")
        elif isinstance(value, list) and not _is_numeric_tree(value):
            raise self.fail(name, "a list value must hold only numbers (or lists of numbers)")
        return value

    def points(self, data: Mapping[str, Any], checks: tuple[str, ...]) -> Mapping[str, int]:
        table = self.get(data, "points", dict)
        if set(table) != set(checks):
            unknown = sorted(set(table) - set(checks))
            missing = sorted(set(checks) - set(table))
            raise self.fail("points", f"must give points for exactly the checks {', '.join(checks)}; unknown {unknown}, missing {missing}")
        for name, value in table.items():
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise self.fail(f"points.{name}", "expected a whole number of points, 0 or more")
        return MappingProxyType(dict(table))

    def tolerances(self, data: Mapping[str, Any]) -> Mapping[str, Tolerance]:
        table = self.get(data, "tolerance", dict)
        result = {}
        for name in ("step", "prediction"):
            entry = self.get(table, name, dict, "tolerance")
            rtol = self.get(entry, "rtol", (int, float), f"tolerance.{name}")
            atol = self.get(entry, "atol", (int, float), f"tolerance.{name}")
            if rtol < 0 or atol < 0:
                raise self.fail(f"tolerance.{name}", "rtol and atol must not be negative")
            result[name] = Tolerance(float(rtol), float(atol))
        return MappingProxyType(result)

    def limits(self, data: Mapping[str, Any]) -> Limits:
        table = data.get("limits", {})
        if not isinstance(table, dict):
            raise self.fail("limits", "expected a table")
        defaults = Limits()
        values = {}
        for name, default in vars(defaults).items():
            if name in table:
                value = self.get(table, name, (int, float), "limits")
                if value <= 0:
                    raise self.fail(f"limits.{name}", "must be positive")
                values[name] = type(default)(value)
        return Limits(**values)


def _is_numeric_tree(value: Any) -> bool:
    if isinstance(value, list):
        return all(_is_numeric_tree(v) for v in value)
    return isinstance(value, (int, float)) and not isinstance(value, bool)
