"""The trace that crosses the sandbox boundary: its frame types, defined once for both sides.

The sandbox side builds these structs (`grader.harness` and each kind's `loop`), the boundary
decodes and validates a frame into them (`grader.tracecheck`), and the judges read them. The
module depends on the standard library and msgspec only, so that it can be mounted into the
sandbox beside the harness and imported by the trusted side without either importing the other.

A frame is written in the same process as student code, which may forge one. The types bound
what a forged frame can hold (lengths, counts, the fields of each kind of value); what types
cannot say (lengths that agree with shapes, cases that are the job's) is checked by
`grader.tracecheck` and by each kind's `case_problem`.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, ClassVar, Generic, Literal, TypeVar

import msgspec

FORMAT = 2  # bump on any change to the frame types: reference caches are keyed by it
MAX_RECORDED_VALUES = 4096  # of one tensor; a larger one is recorded by its first values
MAX_MESSAGE_CHARS = 2000
MAX_NAME_CHARS = 200
MAX_COUNT = 2**31  # a line, a step, a dimension: far beyond any real one, small enough to compute with
MAX_ITEMS = 16  # of a returned tuple or list
MAX_NAMES = 64  # parameters, functions, contract problems
MAX_DIMS = 16  # of a recorded tensor; one with more is recorded by its class and dimension count
MAX_ERRNO = 2**31

Name = Annotated[str, msgspec.Meta(max_length=MAX_NAME_CHARS)]
Message = Annotated[str, msgspec.Meta(max_length=MAX_MESSAGE_CHARS)]
Count = Annotated[int, msgspec.Meta(ge=0, le=MAX_COUNT)]
Shape = Annotated[list[Count], msgspec.Meta(max_length=MAX_DIMS)]
Numbers = Annotated[list[float], msgspec.Meta(max_length=MAX_RECORDED_VALUES)]
Names = Annotated[list[Name], msgspec.Meta(max_length=MAX_NAMES)]


class Frame(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """Every struct of a trace: unknown fields refuse the frame, defaults are left out of it."""


class Described(Frame, tag_field="kind"):
    """A value student code handed back, described by plain facts; `kind` names its form."""

    kind: ClassVar[str]


class Tensor(Described, tag="tensor"):
    kind: ClassVar[str] = "tensor"
    shape: Shape
    dtype: Name
    values: Numbers  # the first MAX_RECORDED_VALUES, flat; none for a complex tensor
    requires_grad: bool
    is_leaf: bool
    grad_fn: Name | None = None


class Number(Described, tag="number"):
    """A Python number (not a bool): `type` is its class, int and float alike carried as a float."""

    kind: ClassVar[str] = "number"
    type: Name
    value: float


class Nothing(Described, tag="none"):
    kind: ClassVar[str] = "none"


class Other(Described, tag="other"):
    """Anything else: only its class name."""

    kind: ClassVar[str] = "other"
    type: Name


Value = Tensor | Number | Nothing | Other


def numbers_of(value: Described | None) -> list[float] | None:
    """The values of a recorded tensor or number, flat; None for anything else or nothing recorded."""
    if isinstance(value, Tensor):
        return value.values
    if isinstance(value, Number):
        return [value.value]
    return None


def shape_of(value: Described | None) -> list[int] | None:
    if isinstance(value, Tensor):
        return value.shape
    if isinstance(value, Number):
        return []
    return None


def consistent(value: Described) -> bool:
    """Whether a value's numbers agree with its shape (a forged frame may say otherwise)."""
    if not isinstance(value, Tensor):
        return True
    if "complex" in value.dtype:
        return value.values == []
    return len(value.values) == min(math.prod(value.shape), MAX_RECORDED_VALUES)


class Error(Frame):
    """An exception of student code as the student should see it: their own line, not ours."""

    phase: Name  # compile, import, or the part of the loop that raised (a kind's own words)
    type: Name
    message: Message
    step: Count | None = None
    line: Count | None = None
    function: Name | None = None
    text: Message | None = None  # the student's source line
    errno: Annotated[int, msgspec.Meta(ge=-MAX_ERRNO, le=MAX_ERRNO)] | None = None
    offset: Count | None = None  # of a syntax error

    def shown(self) -> dict[str, Any]:
        """The fields a report shows of it."""
        fields = ("phase", "step", "type", "message", "line", "function", "text", "errno")
        return {name: getattr(self, name) for name in fields}


class Problem(Frame, tag_field="kind"):
    """What a submission lacks to be driven at all; each kind of problem has its own fields."""

    name: Name


class MissingFunction(Problem, tag="missing_function"):
    args: Names


class NotCallable(Problem, tag="not_callable"):
    type: Name


class Signature(Problem, tag="signature"):
    args: Names
    actual: Message
    line: Count | None = None


class MissingParameter(Problem, tag="missing_parameter"):
    pass


class ParameterType(Problem, tag="parameter_type"):
    type: Name


class NotSubclass(Problem, tag="not_subclass"):
    """A class of the contract that is not a subclass of what it must extend."""

    expected: Name
    type: Name


ContractProblem = MissingFunction | NotCallable | Signature | MissingParameter | ParameterType | NotSubclass

C = TypeVar("C")


class Trace(Frame, Generic[C]):
    """One job's trace: how the file loaded, what its contract lacks, then a record per case."""

    format: Literal[2]
    load: Error | None = None  # None: the file compiled and ran
    contract: Annotated[list[ContractProblem], msgspec.Meta(max_length=MAX_NAMES)] = []
    cases: list[C] = []

    @property
    def loaded(self) -> bool:
        """Loaded and fit to be driven: its cases ran."""
        return self.load is None and not self.contract


class Job(Frame, Generic[C]):
    """What the grader sends the harness for one job: the source, its contract, the cases of its kind.

    The harness reads `kind` first (`JobKind`), then the whole job with that kind's case type.
    """

    source: str
    kind: str
    functions: dict[str, list[str]]
    parameters: dict[str, list[int]]
    classes: dict[str, str] = {}  # class name: the class it must extend, e.g. "torch.autograd.Function"
    cases: list[C] = []
    nonce: str = ""  # set by the sandbox for each run: the tag of the job's frame


class JobKind(msgspec.Struct):
    """A job read for its kind alone (the other fields are left for the second read)."""

    kind: str


def encode(frame: Frame | dict[str, Any]) -> bytes:
    """MessagePack: compact, fast both ways, and it keeps a diverged run's NaN and infinities."""
    return msgspec.msgpack.encode(frame)
