"""docker-compose.yml, checked by Debian's docker-compose (there is no Docker engine to run it here)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
# docker-compose v1 prints YAML; the Python it runs on carries PyYAML (Debian's python3-yaml).
YAML_TO_JSON = "import json, sys, yaml; print(json.dumps(yaml.safe_load(sys.stdin)))"


def compose(*arguments: str, secret_key: str = "k") -> subprocess.CompletedProcess[str]:
    executable = shutil.which("docker-compose")
    if executable is None:
        pytest.fail("docker-compose is missing: `make test` installs Debian's docker-compose")
    env = {**os.environ, "GRADELAB_SECRET_KEY": secret_key}
    return subprocess.run([executable, "-f", str(ROOT / "docker-compose.yml"), *arguments], env=env, capture_output=True, text=True)


def rendered() -> dict[str, Any]:
    text = compose("config").stdout
    converted = subprocess.run(["/usr/bin/python3", "-c", YAML_TO_JSON], input=text, capture_output=True, text=True, check=True)
    return json.loads(converted.stdout)


def test_the_compose_file_is_valid():
    result = compose("config", "-q")
    assert result.returncode == 0, result.stderr


def test_it_describes_the_whole_deployment():
    config = rendered()
    services = config["services"]
    assert set(services) == {"postgres", "redis", "prepare", "web", "worker"}
    assert set(config["volumes"]) == {"postgres-data", "redis-data", "instance"}
    assert {name for name, service in services.items() if "healthcheck" in service} == {"postgres", "redis", "web", "worker"}
    assert services["web"]["command"][0] == "gunicorn" and services["worker"]["command"] == ["gradelab", "worker"]
    for name in ("web", "worker"):  # migrations are applied once, by `prepare`, before either starts
        assert services[name]["depends_on"]["prepare"]["condition"] == "service_completed_successfully"
    assert services["worker"]["environment"]["GRADELAB_GRADING_BACKEND"] == "celery"


def test_workers_can_be_scaled():
    worker = rendered()["services"]["worker"]
    assert "container_name" not in worker and "ports" not in worker  # N copies must not collide


def test_the_secret_key_is_required_not_defaulted():
    result = compose("config", "-q", secret_key="")
    assert result.returncode != 0 and "GRADELAB_SECRET_KEY" in result.stderr
