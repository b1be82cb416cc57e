"""Sign-in, lock-out, audit and the server-side guard on every route."""

from __future__ import annotations

import json

import pytest
from auth_support import PASSWORD, make_server, sign_in, sign_out, token_of

from explorer.auth import users
from explorer.auth.db import AuthDB
from explorer.config import Settings
from explorer.domain.access import Role
from explorer.errors import ExplorerError



@pytest.fixture()
def home(tmp_path, monkeypatch) -> Settings:
    monkeypatch.delenv("EXPLORER_USERS_FILE", raising=False)
    monkeypatch.delenv("EXPLORER_AUDIT_LOG", raising=False)
    monkeypatch.delenv("EXPLORER_SECRET_KEY", raising=False)
    return Settings(cache_dir=tmp_path / "cache", data_dir=tmp_path / "data", mirror=None)


def test_passwords_are_stored_only_as_argon2_hashes(home):
    users.add_user(home, "ana", "analyst", PASSWORD)
    stored = users.users_file(home).read_text()
    assert PASSWORD not in stored and "$argon2id$" in stored
    assert users.list_users(home) == [users.User("ana", Role.ANALYST)]


def test_weak_password_unknown_role_and_bad_names_are_refused(home):
    with pytest.raises(ExplorerError, match="at least 12"):
        users.add_user(home, "bob", "analyst", "short")
    with pytest.raises(ExplorerError, match="unknown role"):
        users.add_user(home, "bob", "admin", PASSWORD)
    with pytest.raises(ExplorerError, match="must be 1-64 letters"):
        users.add_user(home, "bob smith", "analyst", PASSWORD)


def test_remove_user(home):
    users.add_user(home, "ana", "analyst", PASSWORD)
    users.remove_user(home, "ana")
    assert users.list_users(home) == []
    with pytest.raises(ExplorerError, match="no user"):
        users.remove_user(home, "ana")


def test_unauthenticated_pages_redirect_and_callbacks_are_refused(home):
    client = make_server(home).test_client()
    page = client.get("/")
    assert page.status_code == 302 and "/login" in page.headers["Location"]
    call = client.post("/_dash-update-component", json={})
    assert call.status_code == 401 and b"role" not in call.data
    assert client.get("/_dash-layout").status_code == 401


def test_sign_in_sets_a_secure_session_and_gives_the_users_role(home):
    users.add_user(home, "cara", "commissioner", PASSWORD)
    client = make_server(home).test_client()
    response = sign_in(client, "cara", PASSWORD)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert client.post("/_dash-update-component", json={}).get_json() == {"role": "commissioner"}
    sign_out(client)
    assert client.post("/_dash-update-component", json={}).status_code == 401


def test_secure_cookie_when_served_over_https(home, monkeypatch):
    monkeypatch.setenv("EXPLORER_HTTPS", "1")
    users.add_user(home, "cara", "commissioner", PASSWORD)
    client = make_server(home).test_client()
    assert "Secure" in sign_in(client, "cara", PASSWORD).headers["Set-Cookie"]


def test_wrong_password_is_refused_without_saying_which_part_was_wrong(home):
    users.add_user(home, "cara", "commissioner", PASSWORD)
    client = make_server(home).test_client()
    page = sign_in(client, "cara", "wrong password!!").get_data(as_text=True)
    assert "check your user name and password" in page
    assert client.post("/_dash-update-component", json={}).status_code == 401


def test_lock_out_after_repeated_failures_even_with_the_right_password(home):
    users.add_user(home, "cara", "commissioner", PASSWORD)
    client = make_server(home).test_client()
    for _ in range(users.MAX_FAILURES):
        sign_in(client, "cara", "wrong password!!")
    page = sign_in(client, "cara", PASSWORD).get_data(as_text=True)
    assert "locked" in page
    assert client.post("/_dash-update-component", json={}).status_code == 401


def test_lock_out_expires_after_the_window(home):
    users.add_user(home, "cara", "commissioner", PASSWORD)
    store = users.SignInThrottle(AuthDB(home.data_dir / "auth.sqlite"))
    for _ in range(users.MAX_FAILURES):
        with pytest.raises(users.SignInRefused):
            users.authenticate(home, "cara", "nope nope nope", store, address="10.0.0.1", now=1_000.0)
    with pytest.raises(users.SignInRefused, match="locked"):
        users.authenticate(home, "cara", PASSWORD, store, address="10.0.0.1", now=1_001.0)
    later = 1_000.0 + users.LOCKOUT_WINDOW + 1
    assert users.authenticate(home, "cara", PASSWORD, store, address="10.0.0.1", now=later).role is Role.COMMISSIONER


def test_audit_log_records_sign_ins_failures_and_sign_outs_append_only(home):
    users.add_user(home, "cara", "commissioner", PASSWORD)
    client = make_server(home).test_client()
    sign_in(client, "cara", "wrong password!!")
    sign_in(client, "cara", PASSWORD)
    sign_out(client)
    events = [json.loads(line) for line in users.audit_path(home).read_text().splitlines()]
    assert [e["event"] for e in events if e["event"].startswith("sign")] == ["sign_in_failed", "sign_in", "sign_out"]
    assert events[1]["role"] == "commissioner" and all(e["at"] for e in events)


def test_login_form_rejects_a_missing_csrf_token(home):
    users.add_user(home, "cara", "commissioner", PASSWORD)
    client = make_server(home).test_client()
    client.get("/login")
    page = client.post("/login", data={"username": "cara", "password": PASSWORD}).get_data(as_text=True)
    assert "expired" in page and client.post("/_dash-update-component", json={}).status_code == 401


def test_open_redirects_after_sign_in_are_refused(home):
    users.add_user(home, "cara", "commissioner", PASSWORD)
    client = make_server(home).test_client()
    token = token_of(client.get("/login").get_data(as_text=True))
    response = client.post("/login?next=https://evil.example/", data={"username": "cara", "password": PASSWORD,
                                                                      "csrf": token})
    assert response.headers["Location"] == "/"


def test_demo_mode_needs_no_sign_in_and_uses_the_named_role(home):
    client = make_server(home, demo_role=Role.STRATEGIST).test_client()
    assert client.get("/").status_code == 200
    assert client.post("/_dash-update-component", json={}).get_json() == {"role": "strategist"}


def test_users_cli_adds_lists_and_removes(home, monkeypatch):
    from typer.testing import CliRunner

    from explorer.cli import app

    monkeypatch.setenv("EXPLORER_DATA_DIR", str(home.data_dir))
    runner = CliRunner()
    added = runner.invoke(app, ["users", "add", "sam", "--role", "social_care", "--password-stdin"],
                          input=PASSWORD + "\n")
    assert added.exit_code == 0, added.output
    assert "sam\tsocial_care" in runner.invoke(app, ["users", "list"]).stdout
    refused = runner.invoke(app, ["users", "add", "tim", "--role", "boss", "--password-stdin"], input=PASSWORD + "\n")
    assert refused.exit_code == 2 and "unknown role" in refused.output
    assert runner.invoke(app, ["users", "remove", "sam"]).exit_code == 0
    assert "sam" not in runner.invoke(app, ["users", "list"]).stdout
