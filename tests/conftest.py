"""Shared fixtures: the exercise catalog, a `grade` helper, a private reference cache, no process left behind."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import processes
import pytest

from grader.pool import SandboxPool
from grader.report import GradeReport
from grader.spec import Exercise, load_catalog

ROOT = Path(__file__).resolve().parent.parent
EXERCISES = ROOT / "exercises"


@pytest.fixture(autouse=True, scope="session")
def private_reference_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Tests never read or write the user's ~/.cache."""
    path = tmp_path_factory.mktemp("reference-cache")
    patcher = pytest.MonkeyPatch()
    patcher.setenv("GRADELAB_CACHE_DIR", str(path))
    yield path
    patcher.undo()


@pytest.fixture(autouse=True, scope="session")
def no_process_left_running() -> Iterator[None]:
    """The safety net, torn down last: whatever a test started and could not stop is killed here."""
    yield
    left = processes.stop_all()
    if left:
        pytest.fail(f"the tests left these running (killed now): {left}", pytrace=False)


@pytest.fixture(scope="session")
def catalog() -> dict[str, Exercise]:
    return load_catalog(EXERCISES)


@pytest.fixture(scope="session")
def pool() -> Iterator[SandboxPool]:
    """Two warm sandboxes per test process, as the platform would run them."""
    from grader.sandbox import sandbox_problem

    problem = sandbox_problem()
    if problem is not None:
        pytest.fail(f"the tests grade in the sandbox, which cannot start here: {problem} (`make setup` installs bubblewrap)")
    with SandboxPool(2) as sandboxes:
        yield sandboxes


@pytest.fixture
def grade(catalog: dict[str, Exercise], pool: SandboxPool) -> Callable[[str, str | bytes], GradeReport]:
    from grader.grading import grade_submission

    def grade(slug: str, source: str | bytes) -> GradeReport:
        return grade_submission(catalog[slug], source, pool)

    return grade
