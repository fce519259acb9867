"""English and Simplified Chinese, for the interface and the statements."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po
from site_helpers import csrf_token

PLATFORM = Path(__file__).resolve().parents[2] / "platform"


def switch_to(client, lang: str, next_url: str = "/"):
    token = csrf_token(client.get(next_url).get_data(as_text=True))
    return client.post(f"/language/{lang}", data={"csrf_token": token, "next": next_url})


def test_the_browser_language_is_the_default(client):
    assert "登录" in client.get("/login", headers={"Accept-Language": "zh-CN,zh;q=0.9"}).get_data(as_text=True)
    assert "Sign in" in client.get("/login", headers={"Accept-Language": "en-US"}).get_data(as_text=True)


def test_switching_language_changes_the_interface_and_the_statement(client, auth):
    auth.signup()
    page = client.get("/exercises/linear").get_data(as_text=True)
    assert "Your code" in page and "Linear model" in page
    response = switch_to(client, "zh", "/exercises/linear")
    assert response.headers["Location"] == "/exercises/linear"
    page = client.get("/exercises/linear").get_data(as_text=True)
    assert "你的代码" in page and "提交" in page and "线性模型" in page
    assert '<html lang="zh-Hans">' in page


def test_a_signed_in_users_choice_follows_them_to_a_new_session(app, client, auth):
    auth.signup()
    switch_to(client, "zh")
    other = app.test_client()
    token = csrf_token(other.get("/login").get_data(as_text=True))
    other.post("/login", data={"csrf_token": token, "email": "ada@example.com", "password": "correct horse battery"})
    assert "练习" in other.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)


def test_error_pages_are_translated(client, auth):
    auth.signup()
    switch_to(client, "zh")
    assert "页面不存在" in client.get("/exercises/nope").get_data(as_text=True)


def test_every_interface_message_has_a_chinese_translation(tmp_path):
    """The catalog is extracted from the code now: a new message without a translation fails here."""
    template = tmp_path / "messages.pot"
    subprocess.run(
        [Path(sys.executable).parent / "pybabel", "extract", "-F", "babel.cfg", "-k", "_l", "-o", str(template), "."],
        cwd=PLATFORM,
        check=True,
        capture_output=True,
    )
    with template.open("rb") as f:
        wanted = {message.id for message in read_po(f) if message.id}
    with (PLATFORM / "gradelab/translations/zh/LC_MESSAGES/messages.po").open("rb") as f:
        translated = {message.id for message in read_po(f) if message.id and message.string and not message.fuzzy}
    assert wanted - translated == set()
