"""API tokens and the JSON API, then `gradelab submit` against a live `gradelab serve`."""

from __future__ import annotations

import base64
import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from live_services import HttpClient, free_port
from site_helpers import csrf_token, graded, signed_in_client
from sqlalchemy import func, select
from test_serve import ACCOUNT, start_server, stop

from gradelab.db import db
from gradelab.models import ApiToken, Status, Submission

ROOT = Path(__file__).resolve().parents[2]
SEED_FILE = ROOT / "exercises/linear/solutions/seed.py"
NO_ZERO_GRAD_FILE = ROOT / "exercises/linear/mistakes/no_zero_grad.py"
TOKEN = re.compile(r'<p class="token">(glb_[A-Za-z0-9_-]+)</p>')


def new_token(client, name: str = "laptop") -> str:
    page = client.get("/account/tokens").get_data(as_text=True)
    created = client.post("/account/tokens", data={"csrf_token": csrf_token(page), "name": name}).get_data(as_text=True)
    return TOKEN.search(created).group(1)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.grades_nothing
def test_a_token_is_shown_once_and_stored_hashed(app, tmp_path):
    ada = signed_in_client(app, "ada@example.com", "Ada")
    token = new_token(ada)
    assert token not in ada.get("/account/tokens").get_data(as_text=True)  # never shown again
    with app.app_context():
        stored = db.session.scalar(select(ApiToken))
        assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest() and stored.prefix == token[:10]
    database = b"".join(path.read_bytes() for path in tmp_path.glob("gradelab.sqlite*"))  # the WAL too
    assert stored.token_hash.encode() in database and token.encode() not in database


def test_submit_and_poll_through_the_api(app):
    ada = signed_in_client(app, "ada@example.com", "Ada")
    api = app.test_client()  # no session: the token alone
    token = new_token(ada)
    listed = api.get("/api/v1/exercises", headers=bearer(token)).get_json()
    assert [e["slug"] for e in listed["exercises"]] == ["tensor_facts", "vector_backward", "linear", "quadratic", "one_sample_mse", "scalar_descent", "detach_numpy", "matrix_mse", "retain_create_graph", "nn_linear", "custom_square", "custom_linear"]
    source = SEED_FILE.read_bytes()
    sent = api.post(
        "/api/v1/exercises/linear/submissions",
        json={"source_base64": base64.b64encode(source).decode(), "client_token": "t1"},
        headers=bearer(token),
    )
    assert sent.status_code == 202 and sent.headers["Location"] == f"/api/v1/submissions/{sent.get_json()['id']}"
    # A retry sends the same code (issue 13: other code with the same token is a 409, test below).
    again = api.post("/api/v1/exercises/linear/submissions", json={"source": source.decode(), "client_token": "t1"}, headers=bearer(token))
    assert again.status_code == 200 and again.get_json()["id"] == sent.get_json()["id"]  # a retried request
    sid = sent.get_json()["id"]
    assert graded(app, sid).status == Status.GRADED
    answer = api.get(f"/api/v1/submissions/{sid}", headers=bearer(token)).get_json()
    assert answer["final"] and answer["score"] == 100 and answer["report"]["outcome"] == "ok"
    assert [e["status"] for e in answer["events"]] == ["queued", "running", "graded"]
    with app.app_context():
        assert db.session.get(Submission, sid).source == source


def test_api_refusals_are_json_with_a_message(app):
    ada, bob = signed_in_client(app, "ada@example.com", "Ada"), signed_in_client(app, "bob@example.com", "Bob")
    api = app.test_client()
    ada_token, bob_token = new_token(ada), new_token(bob)
    for headers in ({}, bearer("glb_not-a-token"), {"Authorization": "Basic YTpi"}):
        refused = api.get("/api/v1/exercises", headers=headers)
        assert (
            refused.status_code == 401
            and refused.headers["WWW-Authenticate"].startswith("Bearer")
            and "token" in refused.get_json()["error"]
        )
    cases = [
        ("/api/v1/exercises/linear/submissions", {"source": ""}, 400, "empty"),
        ("/api/v1/exercises/linear/submissions", {"source": "x" * 300_000}, 413, "accepts at most"),
        ("/api/v1/exercises/linear/submissions", {"source_base64": "%%%"}, 400, "base64"),
        ("/api/v1/exercises/linear/submissions", ["not", "an", "object"], 400, "JSON object"),
        ("/api/v1/exercises/nope/submissions", {"source": "x"}, 404, "no such page"),
    ]
    for url, body, status, words in cases:
        answer = api.post(url, json=body, headers=bearer(ada_token))
        assert (answer.status_code, words in answer.get_json()["error"]) == (status, True), (body, answer.get_json())
    sid = api.post("/api/v1/exercises/linear/submissions", json={"source": "x = 1"}, headers=bearer(ada_token)).get_json()["id"]
    assert api.get(f"/api/v1/submissions/{sid}", headers=bearer(bob_token)).status_code == 404  # not Bob's
    for url in ("/api/v1/gradebook", f"/api/v1/submissions/{sid}/results.json"):
        assert api.get(url, headers=bearer(ada_token)).status_code == 403  # instructors only
    graded(app, sid)


def test_a_client_token_sent_again_with_other_code_or_exercise_is_a_409(app):
    ada = signed_in_client(app, "ada@example.com", "Ada")
    api, token = app.test_client(), new_token(ada)
    source = SEED_FILE.read_text()
    sent = api.post("/api/v1/exercises/linear/submissions", json={"source": source, "client_token": "t1"}, headers=bearer(token))
    assert sent.status_code == 202
    sid = sent.get_json()["id"]
    for body in (
        {"source": source + "# edited\n", "client_token": "t1"},  # other code
        {"source_base64": base64.b64encode(source.encode() + b" ").decode(), "client_token": "t1"},  # one byte more
    ):
        conflict = api.post("/api/v1/exercises/linear/submissions", json=body, headers=bearer(token))
        assert conflict.status_code == 409 and conflict.get_json()["status"] == 409
        assert f"client_token 't1' was already used for submission {sid}" in conflict.get_json()["error"]
        assert "new client_token" in conflict.get_json()["error"]
    other_exercise = api.post("/api/v1/exercises/quadratic/submissions", json={"source": source, "client_token": "t1"}, headers=bearer(token))
    assert other_exercise.status_code == 409 and "another source or exercise" in other_exercise.get_json()["error"]
    same = api.post("/api/v1/exercises/linear/submissions", json={"source": source, "client_token": "t1"}, headers=bearer(token))
    assert same.status_code == 200 and same.get_json()["id"] == sid  # the idempotent retry still works
    with app.app_context():
        assert db.session.scalar(select(func.count(Submission.id))) == 1
    assert graded(app, sid).score == 100


def test_the_api_answers_429_past_the_in_flight_limit_and_loses_nothing(app):
    ada = signed_in_client(app, "ada@example.com", "Ada")
    api, token = app.test_client(), new_token(ada)
    slow = "import time\ntime.sleep(1.5)\n" + SEED_FILE.read_text()
    ids = [
        api.post("/api/v1/exercises/linear/submissions", json={"source": slow + f"# {n}\n"}, headers=bearer(token)).get_json()["id"]
        for n in range(2)
    ]
    refused = api.post("/api/v1/exercises/linear/submissions", json={"source": slow, "client_token": "third"}, headers=bearer(token))
    assert refused.status_code == 429 and refused.get_json() == {
        "error": "You already have 2 submissions waiting for their grades. Wait until one is graded, then submit again.",
        "status": 429,
    }
    with app.app_context():
        assert db.session.scalar(select(func.count(Submission.id))) == 2  # the refused one was not stored
    for sid in ids:
        assert graded(app, sid).score == 100  # what was accepted is graded
    again = api.post("/api/v1/exercises/linear/submissions", json={"source": slow, "client_token": "third"}, headers=bearer(token))
    assert again.status_code == 202 and graded(app, again.get_json()["id"]).score == 100


@pytest.mark.grades_nothing
def test_a_revoked_token_stops_working(app):
    ada = signed_in_client(app, "ada@example.com", "Ada")
    token = new_token(ada)
    with app.app_context():
        token_id = db.session.scalar(select(ApiToken.id))
    page = ada.get("/account/tokens").get_data(as_text=True)
    ada.post(f"/account/tokens/{token_id}/revoke", data={"csrf_token": csrf_token(page)})
    assert app.test_client().get("/api/v1/exercises", headers=bearer(token)).status_code == 401


def test_the_instructor_reads_the_gradebook_through_the_api(app):
    ada, teacher = signed_in_client(app, "ada@example.com", "Ada"), signed_in_client(app, "t@example.com", "T", "instructor")
    api, token = app.test_client(), new_token(ada)
    sid = api.post("/api/v1/exercises/linear/submissions", json={"source": SEED_FILE.read_text()}, headers=bearer(token)).get_json()["id"]
    graded(app, sid)
    book = api.get("/api/v1/gradebook", headers=bearer(new_token(teacher))).get_json()
    assert book["students"] == [
        {
            "name": "Ada",
            "email": "ada@example.com",
            "total": 100,
            "exercises": {
                "linear": {"attempts": 1, "best": 100, "last": 100, "late": False},
                "quadratic": {"attempts": 0, "best": None, "last": None, "late": False},
                "matrix_mse": {"attempts": 0, "best": None, "last": None, "late": False},
                "one_sample_mse": {"attempts": 0, "best": None, "last": None, "late": False},
                "tensor_facts": {"attempts": 0, "best": None, "last": None, "late": False},
                "detach_numpy": {"attempts": 0, "best": None, "last": None, "late": False},
                "retain_create_graph": {"attempts": 0, "best": None, "last": None, "late": False},
                "scalar_descent": {"attempts": 0, "best": None, "last": None, "late": False},
                "nn_linear": {"attempts": 0, "best": None, "last": None, "late": False},
                "vector_backward": {"attempts": 0, "best": None, "last": None, "late": False},
                "custom_square": {"attempts": 0, "best": None, "last": None, "late": False},
                "custom_linear": {"attempts": 0, "best": None, "last": None, "late": False},
            },
        }
    ]


def gradelab_submit(*arguments: str, token: str | None, server: str | None = None) -> subprocess.CompletedProcess[str]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("GRADELAB_")}
    environment["XDG_CONFIG_HOME"] = "/nonexistent"
    if token:
        environment["GRADELAB_TOKEN"] = token
    command = [str(Path(sys.executable).parent / "gradelab"), "submit", *arguments] + (["--server", server] if server else [])
    return subprocess.run(command, env=environment, capture_output=True, text=True, timeout=120)


@pytest.mark.slow
def test_gradelab_submit_against_a_live_server(tmp_path):
    port = free_port()
    server, output = start_server(tmp_path / "instance", port)
    url = f"http://127.0.0.1:{port}"
    try:
        email, password = ACCOUNT.search(output).groups()
        browser = HttpClient(url)
        page = browser.get("/login")[2]
        browser.post("/login", {"csrf_token": csrf_token(page), "email": email, "password": password})
        page = browser.get("/account/tokens")[2]
        token = TOKEN.search(browser.post("/account/tokens", {"csrf_token": csrf_token(page), "name": "cli"})[2]).group(1)

        full = gradelab_submit("linear", str(SEED_FILE), token=token, server=url)
        assert full.returncode == 0, full.stdout + full.stderr
        assert full.stdout.startswith("linear: 100/100 (ok)") and f"{url}/submissions/" in full.stdout
        partial = gradelab_submit("linear", str(NO_ZERO_GRAD_FILE), token=token, server=url)
        assert partial.returncode == 1 and "linear: 45/100 (ok)" in partial.stdout and "[missing_zero_grad]" in partial.stdout

        config = tmp_path / "config" / "gradelab" / "config.toml"
        config.parent.mkdir(parents=True)
        config.write_text(f'server = "{url}"\ntoken = "{token}"\n')
        from_config = subprocess.run(
            [str(Path(sys.executable).parent / "gradelab"), "submit", "linear", str(SEED_FILE), "--json"],
            env={**{k: v for k, v in os.environ.items() if not k.startswith("GRADELAB_")}, "XDG_CONFIG_HOME": str(tmp_path / "config")},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert from_config.returncode == 0 and '"score": 100' in from_config.stdout

        no_token = gradelab_submit("linear", str(SEED_FILE), token=None, server=url)
        assert no_token.returncode == 3 and "No API token" in no_token.stderr
        wrong = gradelab_submit("linear", str(SEED_FILE), token="glb_wrong", server=url)
        assert wrong.returncode == 3 and "HTTP 401" in wrong.stderr
        away = gradelab_submit("linear", str(SEED_FILE), token=token, server=f"http://127.0.0.1:{free_port()}")
        assert away.returncode == 3 and "Cannot reach" in away.stderr
    finally:
        stop(server)
