"""Real services for the integration tests: a PostgreSQL database, a Redis server, worker processes.

Each process is started and stopped through `processes`: nothing it starts outlives it.
"""

from __future__ import annotations

import contextlib
import http.cookiejar
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import processes
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
POSTGRES_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def postgres_database() -> Iterator[str]:
    """A database of its own on the machine's PostgreSQL, dropped afterwards."""
    name = f"gradelab_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


class RedisServer:
    """A Redis of the test's own on a free port, so it can be restarted without touching the machine's."""

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.folder = folder
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        executable = shutil.which("redis-server") or "/usr/bin/redis-server"
        command = [executable, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(self.folder)]
        self.process = processes.start(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for_port(self.port)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Killed, not shut down: the tests use this as Redis lost with all it held."""
        if self.process is not None:
            process, self.process = self.process, None
            processes.kill(process)


def wait_for_port(port: int, timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on port {port}")


def wait_for_line(log: Path, text: str, process: subprocess.Popen, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if log.exists() and text in log.read_text(errors="replace"):
            return
        if process.poll() is not None:
            raise RuntimeError(f"{process.args} ended ({process.returncode}):\n{log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.1)
    raise TimeoutError(f"{text!r} never appeared in {log}:\n{log.read_text(errors='replace')[-3000:]}")


def service_environment(**config: str) -> dict[str, str]:
    """This environment without any GRADELAB_* of the caller's, plus `config` as GRADELAB_<KEY>."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("GRADELAB_") or key == "GRADELAB_CACHE_DIR"}
    environment.update({f"GRADELAB_{key}": value for key, value in config.items()})
    environment["GRADELAB_EXERCISES_DIR"] = str(ROOT / "exercises")
    return environment


class Worker:
    """A `gradelab worker` process, its output in a log file."""

    def __init__(self, folder: Path, name: str, environment: dict[str, str], concurrency: int = 1) -> None:
        self.log = folder / f"{name}.log"
        self._output = self.log.open("w")
        command = [str(BIN / "gradelab"), "worker", "--concurrency", str(concurrency)]
        self.process = processes.start(command, cwd=ROOT, env=environment, stdout=self._output, stderr=subprocess.STDOUT)

    def wait_ready(self) -> Worker:
        wait_for_line(self.log, " ready.", self.process)
        return self

    def stop(self) -> None:
        """SIGTERM, a warm shutdown; SIGKILL to it and its sandboxes if that takes too long."""
        try:
            processes.stop(self.process, signal.SIGTERM, grace_s=30)
        finally:
            self._output.close()


class TcpForwarder:
    """127.0.0.1:<port> -> a target port, which the test can cut and restore: a database that goes away."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self._server: socket.socket | None = None
        self._connections: list[socket.socket] = []

    def start(self) -> None:
        self._server = socket.create_server(("127.0.0.1", self.port), reuse_port=True)
        threading.Thread(target=self._accept, args=(self._server,), daemon=True).start()

    def cut(self) -> None:
        """Close the listening socket and every open connection: clients see the server gone."""
        server, self._server = self._server, None
        if server is not None:
            with contextlib.suppress(OSError):
                server.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept()
            server.close()
        for connection in self._connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
            connection.close()
        self._connections.clear()

    def _accept(self, server: socket.socket) -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            self._connections += [client, upstream]
            for source, target in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, target), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, target: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                target.sendall(data)
        with contextlib.suppress(OSError):
            target.shutdown(socket.SHUT_WR)


class HttpClient:
    """Just enough of a browser for a live server: cookies, forms, redirects."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def get(self, path: str) -> tuple[int, str, str]:
        with self.opener.open(self.base + path, timeout=30) as response:
            return response.status, response.geturl(), response.read().decode()

    def post(self, path: str, form: dict[str, str]) -> tuple[int, str, str]:
        data = urllib.parse.urlencode(form).encode()
        with self.opener.open(self.base + path, data=data, timeout=30) as response:
            return response.status, response.geturl(), response.read().decode()


class Gunicorn:
    """The web app under gunicorn, as docker-compose runs it."""

    def __init__(self, folder: Path, environment: dict[str, str], workers: int = 2) -> None:
        self.port = free_port()
        self.log = folder / "gunicorn.log"
        self._output = self.log.open("w")
        command = [str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{self.port}", "--workers", str(workers), "--threads", "4", "gradelab:create_app()"]
        self.process = processes.start(command, cwd=ROOT, env=environment, stdout=self._output, stderr=subprocess.STDOUT)
        try:
            wait_for_port(self.port, timeout_s=60)
        except BaseException:
            self.stop()
            raise

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        try:
            processes.stop(self.process, signal.SIGTERM, grace_s=30)
        finally:
            self._output.close()


def prepare(folder: Path, environment: dict[str, str]) -> str:
    """`gradelab prepare`: migrations, exercises, demo accounts; what it printed."""
    command = [str(BIN / "gradelab"), "prepare", "--instance", str(folder / "instance")]
    result = processes.run(command, timeout_s=300, cwd=ROOT, env=environment)
    result.check_returncode()
    return result.stdout
