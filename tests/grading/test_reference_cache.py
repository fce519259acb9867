"""Reference traces are computed once per exercise version and torch version, then read back."""

from __future__ import annotations

import shutil
from importlib.metadata import version

import msgspec

from grader import reference
from grader.drivers.train.trace import CaseRecord
from grader.spec import load_exercise


def test_trace_is_cached_on_disk_by_version(catalog, pool, tmp_path, monkeypatch):
    monkeypatch.setenv("GRADELAB_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(reference, "_TRACES", {})
    exercise = catalog["linear"]
    traces = reference.reference_traces(exercise, pool)
    path = tmp_path / "cache" / f"{reference.cache_key(exercise)}.msgpack"
    assert exercise.version in path.name and version("torch") in path.name
    assert msgspec.msgpack.decode(path.read_bytes(), type=dict[str, CaseRecord]) == traces

    monkeypatch.setattr(reference, "_TRACES", {})
    monkeypatch.setattr(reference, "compute_reference_traces", lambda *_: (_ for _ in ()).throw(AssertionError("recomputed")))
    assert reference.reference_traces(exercise, pool) == traces  # read from disk, not recomputed


def test_changed_exercise_gets_a_new_cache_key(catalog, tmp_path):
    copy = tmp_path / "linear"
    shutil.copytree(catalog["linear"].path, copy)
    text = (copy / "exercise.toml").read_text(encoding="utf-8")
    (copy / "exercise.toml").write_text(text.replace("lr = 0.05", "lr = 0.04"), encoding="utf-8")
    assert reference.cache_key(load_exercise(copy)) != reference.cache_key(catalog["linear"])
