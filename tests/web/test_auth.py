"""Accounts: sign up, sign in, sign out, and the limits around them."""

from __future__ import annotations

from gradelab.db import db
from gradelab.models import User
from site_helpers import PASSWORD, csrf_token
from sqlalchemy import select


def test_sign_up_signs_in_and_stores_a_hashed_password(app, client, auth):
    response = auth.signup(email="Ada@Example.com")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert "Ada" in client.get("/").get_data(as_text=True)
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "ada@example.com"))
        assert user is not None and PASSWORD not in user.password_hash
        assert user.password_hash.startswith("scrypt:")


def test_the_same_email_cannot_sign_up_twice(client, auth):
    auth.signup()
    auth.logout()
    response = auth.signup(email="ADA@example.com")
    assert response.status_code == 400
    assert "already exists" in response.get_data(as_text=True)


def test_sign_up_rejects_a_short_password_and_a_mismatch(client):
    token = csrf_token(client.get("/signup").get_data(as_text=True))
    short = client.post(
        "/signup", data={"csrf_token": token, "name": "B", "email": "b@example.com", "password": "short", "confirm": "short"}
    )
    assert short.status_code == 400 and "8 to 200" in short.get_data(as_text=True)
    differ = client.post(
        "/signup",
        data={"csrf_token": token, "name": "B", "email": "b@example.com", "password": "long enough 1", "confirm": "long enough 2"},
    )
    assert differ.status_code == 400 and "differ" in differ.get_data(as_text=True)


def test_sign_in_and_out(client, auth):
    auth.signup()
    auth.logout()
    assert client.get("/").status_code == 302
    assert auth.login().status_code == 302
    assert client.get("/").status_code == 200
    assert auth.logout().headers["Location"] == "/login"
    assert client.get("/").headers["Location"].startswith("/login")


def test_a_wrong_password_is_refused(client, auth):
    auth.signup()
    auth.logout()
    response = auth.login(password="not the password")
    assert response.status_code == 401
    assert "Wrong email or password" in response.get_data(as_text=True)


def test_repeated_failed_sign_ins_are_rate_limited(client, auth):
    auth.signup()
    auth.logout()
    codes = [auth.login(password=f"guess {n}").status_code for n in range(5)]
    assert codes == [401] * 5
    blocked = auth.login()  # even the right password waits now
    assert blocked.status_code == 429
    assert "Too many attempts" in blocked.get_data(as_text=True)


def test_successful_sign_ins_do_not_use_up_the_limit(client, auth):
    auth.signup()
    for _ in range(8):
        auth.logout()
        assert auth.login().status_code == 302


def test_sign_in_redirects_only_within_the_site(client, auth):
    auth.signup()
    auth.logout()
    token = csrf_token(client.get("/login").get_data(as_text=True))
    form = {"csrf_token": token, "email": "ada@example.com", "password": PASSWORD}
    response = client.post("/login?next=https://evil.example/steal", data=form)
    assert response.headers["Location"] == "/"
    auth.logout()
    response = client.post(
        "/login?next=/exercises/linear", data={**form, "csrf_token": csrf_token(client.get("/login").get_data(as_text=True))}
    )
    assert response.headers["Location"] == "/exercises/linear"
