"""Accounts: sign up, sign in, sign out, and the limits around them."""

from __future__ import annotations

import pytest
from gradelab.db import db
from gradelab.models import User
from site_helpers import PASSWORD, Auth, csrf_token
from sqlalchemy import select

pytestmark = pytest.mark.grades_nothing  # accounts only: the site's Runner is a fake (conftest.py)


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


def sign_in_from(client, address: str, email: str = "ada@example.com", password: str = PASSWORD):
    """The sign-in form sent from the machine at `address`."""
    page = client.get("/login", environ_base={"REMOTE_ADDR": address}).get_data(as_text=True)
    form = {"csrf_token": csrf_token(page), "email": email, "password": password}
    return client.post("/login", data=form, environ_base={"REMOTE_ADDR": address})


def signed_up_elsewhere(app, email: str) -> None:
    """An account made in another browser: the clients of the test have never signed in to it."""
    assert Auth(app.test_client()).signup(email=email, name=email.split("@")[0]).status_code == 302


def test_one_students_failures_do_not_lock_others_out_behind_the_same_address(app):
    lab = "10.0.0.1"  # a whole lab behind one NAT address
    signed_up_elsewhere(app, "ada@example.com")
    signed_up_elsewhere(app, "bob@example.com")
    guesser = app.test_client()
    codes = [sign_in_from(guesser, lab, "ada@example.com", f"guess {n}").status_code for n in range(12)]
    assert codes[:5] == [401] * 5 and set(codes[5:]) == {429}
    assert sign_in_from(app.test_client(), lab, "bob@example.com").status_code == 302  # Bob, in a new browser
    assert sign_in_from(guesser, lab, "bob@example.com").status_code == 302  # even at the guesser's machine


def test_the_owners_browser_signs_in_while_others_guess_at_the_account(app, client, auth):
    auth.signup()  # Ada's browser: it has signed in to her account
    auth.logout()
    for n in range(3):  # guessing from many machines at once
        for address in (f"10.1.{n}.1", f"10.1.{n}.2", f"10.1.{n}.3", f"10.1.{n}.4"):
            sign_in_from(app.test_client(), address, password=f"guess {address}")
    refused = sign_in_from(app.test_client(), "10.2.0.1")  # the right password, from a browser new to Ada
    assert refused.status_code == 429
    text = refused.get_data(as_text=True)
    assert "Too many attempts to sign in to this account" in text and "not held up" in text
    wait_s = int(refused.headers["Retry-After"])
    assert 0 < wait_s <= 600  # bounded: the per-account window is 10 minutes
    assert f"Wait {-(-wait_s // 60)} min" in text
    assert sign_in_from(client, "10.0.0.9").status_code == 302  # her own browser is not held up


def test_a_known_browser_is_still_limited_on_its_own_failures(app, client, auth):
    auth.signup()
    auth.logout()
    codes = [sign_in_from(client, f"10.3.0.{n}", password=f"guess {n}").status_code for n in range(6)]
    assert codes == [401] * 5 + [429]  # a new address each time changes nothing: the browser is counted


def test_a_forged_known_browser_cookie_counts_for_nothing(app):
    signed_up_elsewhere(app, "ada@example.com")
    forger = app.test_client()
    forger.set_cookie("gradelab_browser", "WyJ4IiwgWyJ5Il1d.forged.signature", path="/login")
    codes = [sign_in_from(forger, "10.4.0.1", password=f"guess {n}").status_code for n in range(6)]
    assert codes == [401] * 5 + [429]


def test_the_lockout_message_is_translated(app):
    signed_up_elsewhere(app, "ada@example.com")
    guesser = app.test_client()
    guesser.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh"
    for n in range(5):
        sign_in_from(guesser, "10.5.0.1", password=f"guess {n}")
    refused = sign_in_from(guesser, "10.5.0.1")
    assert refused.status_code == 429 and "此账户的登录尝试过多" in refused.get_data(as_text=True)


def replayed(app, cookie: str):
    """A new browser that sends a copy of an old session cookie."""
    thief = app.test_client()
    thief.set_cookie("session", cookie)
    return thief.get("/")


def test_signing_out_ends_the_session_even_for_a_copy_of_its_cookie(app, client, auth):
    auth.signup()
    cookie = client.get_cookie("session").value
    assert replayed(app, cookie).status_code == 200  # the copy works while the session lasts
    auth.logout()
    assert replayed(app, cookie).headers["Location"].startswith("/login")
    assert auth.login().status_code == 302  # signing in again makes a new session
    assert client.get("/").status_code == 200 and replayed(app, cookie).status_code == 302


def test_a_password_change_ends_every_session(app, client, auth):
    from gradelab.passwords import hash_password

    auth.signup()
    cookie = client.get_cookie("session").value
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "ada@example.com"))
        user.password_hash = hash_password("a new long password")  # as the admin CLI or a reset would
        db.session.commit()
    assert client.get("/").status_code == 302 and replayed(app, cookie).status_code == 302
    assert auth.login(password="a new long password").status_code == 302


@pytest.mark.parametrize(
    ("address", "spelling"),
    [
        ("Ada@Example.com", "ADA@EXAMPLE.COM"),
        ("ivan@example.com", "\u0130van@example.com"),  # Turkish capital dotted I
        ("ada@example.com", "a\u200bda@example.com"),  # a zero-width space
        ("ada@example.com", "ada@example.com\u200d"),  # a zero-width joiner
        ("ada@example.com", "\uff41\uff44\uff41@example.com"),  # full-width letters
        ("ada@example.com", "\u00e1da@example.com"),  # an accent
    ],
)
def test_look_alike_addresses_are_one_account_and_sign_in_to_it(app, client, auth, address, spelling):
    auth.signup(email=address)
    auth.logout()
    second = Auth(app.test_client()).signup(email=spelling, name="Mallory")
    assert second.status_code == 400
    assert "already exists" in second.get_data(as_text=True) or "unsafe characters" in second.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalars(select(User.email)).all() == [address.lower()]
    assert auth.login(email=spelling).status_code == 302  # any spelling of the address reaches the same account
    assert "Ada" in client.get("/").get_data(as_text=True)


def test_an_address_with_a_zero_width_character_cannot_sign_up(client, auth):
    response = auth.signup(email="b\u200bob@example.com")
    assert response.status_code == 400 and "unsafe characters" in response.get_data(as_text=True)


def test_signing_out_also_ends_a_remember_me_cookie(app, client, auth):
    """The site sets none today; one made from the same user id (Flask-Login's format) dies at sign-out too."""
    from flask_login.utils import encode_cookie

    auth.signup()
    with app.test_request_context():
        user = db.session.scalar(select(User).where(User.email == "ada@example.com"))
        remembered = encode_cookie(user.get_id())
    returning = app.test_client()
    returning.set_cookie("remember_token", remembered)
    assert returning.get("/").status_code == 200
    auth.logout()
    stale = app.test_client()
    stale.set_cookie("remember_token", remembered)
    assert stale.get("/").headers["Location"].startswith("/login")
