"""The security review's points, one group of tests each: CSRF, input limits, throttling before
hashing, server-side sessions and expiry, headers, POST-only sign-out, lock-out races and
scope, owner-only files, and the audit of every data view with rotation."""

from __future__ import annotations

import json
import multiprocessing
import stat
import threading
import time
from pathlib import Path

import pytest
from auth_support import PASSWORD, make_server, role_of, sign_in, sign_out, token_of

from explorer.app import auth as web_auth
from explorer.auth import auditlog, throttle, users
from explorer.auth.db import AuthDB
from explorer.config import Settings, load_settings


@pytest.fixture()
def home(tmp_path, monkeypatch) -> Settings:
    for name in ("EXPLORER_USERS_FILE", "EXPLORER_AUDIT_LOG", "EXPLORER_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    return Settings(cache_dir=tmp_path / "cache", data_dir=tmp_path / "data", mirror=None)


@pytest.fixture()
def cara(home) -> Settings:
    users.add_user(home, "cara", "commissioner", PASSWORD)
    return home


@pytest.fixture()
def hashing(monkeypatch) -> list[str]:
    """Records every argon2 call made while signing in."""
    calls: list[str] = []
    real = users._hasher

    class Counting:
        def verify(self, *args):
            calls.append("verify")
            return real.verify(*args)

        def hash(self, *args):
            calls.append("hash")
            return real.hash(*args)

    monkeypatch.setattr(users, "_hasher", Counting())
    monkeypatch.setattr(users, "_verify_seconds", 0.0)
    return calls


def audit_events(settings: Settings) -> list[dict]:
    path = users.audit_path(settings)
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


# --------------------------------------------------------------------------- 1. CSRF


def test_login_without_cookie_and_with_an_empty_token_is_refused(cara):
    client = make_server(cara).test_client()  # never fetched /login: no session, no token
    for form in ({"csrf": ""}, {}, {"csrf": "x"}):
        page = client.post("/login", data={"username": "cara", "password": PASSWORD, **form})
        assert b"expired" in page.data and role_of(client) == 401


def test_a_token_from_another_session_is_refused(cara):
    server = make_server(cara)
    other, victim = server.test_client(), server.test_client()
    token = token_of(other.get("/login").get_data(as_text=True))
    victim.get("/login")
    victim.post("/login", data={"username": "cara", "password": PASSWORD, "csrf": token})
    assert role_of(victim) == 401


# --------------------------------------------------------------------------- 2. input limits


def test_a_20_mb_username_gets_413_and_nothing_is_written(cara, hashing):
    client = make_server(cara).test_client()
    token = token_of(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"username": "a" * 20_000_000, "password": "x", "csrf": token})
    assert response.status_code == 413 and response.mimetype == "text/plain"
    assert hashing == [] and audit_events(cara) == []
    assert users.SignInThrottle(AuthDB(cara.data_dir / "auth.sqlite")).count() == 0


@pytest.mark.parametrize("name, password", [("a" * 65, PASSWORD), ("cara<script>", PASSWORD), ("", PASSWORD),
                                            ("cara", "p" * 1025), ("cara", "é" * 513)],
                         ids=["long-name", "odd-name", "empty-name", "long-password", "long-utf8-password"])
def test_over_long_or_odd_input_gets_400_before_any_hashing_or_writing(cara, hashing, name, password):
    client = make_server(cara).test_client()
    response = sign_in(client, name, password)
    assert response.status_code in (400, 413) and response.mimetype == "text/plain"  # 413: over the form limit
    assert hashing == [] and audit_events(cara) == []
    assert users.SignInThrottle(AuthDB(cara.data_dir / "auth.sqlite")).count() == 0


def test_names_the_login_form_accepts_are_the_names_users_can_have(home):
    with pytest.raises(users.ExplorerError, match="1-64"):
        users.add_user(home, "x" * 65, "analyst", PASSWORD)
    with pytest.raises(users.ExplorerError, match="at most 1024 bytes"):
        users.add_user(home, "long", "analyst", "p" * 1025)


# --------------------------------------------------------------------------- 3. no hashing when throttled


def test_unknown_names_and_throttled_attempts_do_no_argon2_work(cara, hashing):
    client = make_server(cara).test_client()
    sign_in(client, "nobody", "some password!")
    assert hashing == []  # unknown name: a pause, not a hash
    for _ in range(users.MAX_FAILURES):
        sign_in(client, "cara", "wrong password!!")
    assert hashing == ["verify"] * users.MAX_FAILURES
    for _ in range(20):
        assert b"locked" in sign_in(client, "cara", PASSWORD).data
    assert hashing == ["verify"] * users.MAX_FAILURES


def test_one_address_spraying_many_names_is_throttled_but_others_are_not(cara, hashing):
    client = make_server(cara).test_client()
    for i in range(throttle.ADDRESS_LIMIT):
        sign_in(client, f"user{i}", "guess guess guess", address="10.9.9.9")
    page = sign_in(client, "cara", PASSWORD, address="10.9.9.9").get_data(as_text=True)
    assert "from your network" in page and hashing == []
    assert sign_in(client, "cara", PASSWORD, address="10.1.1.1").status_code == 302


# --------------------------------------------------------------------------- 4. sessions


def test_a_copied_session_cookie_stops_working_after_sign_out(cara):
    server = make_server(cara)
    client = server.test_client()
    sign_in(client, "cara", PASSWORD)
    stolen = client.get_cookie("session").value
    sign_out(client)
    thief = server.test_client()
    thief.set_cookie("session", stolen)
    assert role_of(thief) == 401 and thief.get("/").status_code == 302


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def time(self) -> float:
        return self.now


def test_sessions_expire_when_idle_and_after_the_absolute_limit(cara, monkeypatch):
    clock = Clock()
    monkeypatch.setattr(web_auth, "time", clock)
    server = make_server(cara)
    idle = server.test_client()
    sign_in(idle, "cara", PASSWORD)
    clock.now += cara.session_idle_seconds - 30
    assert role_of(idle) == "commissioner"  # used in time: the idle clock restarts
    clock.now += cara.session_idle_seconds - 30
    assert role_of(idle) == "commissioner"
    clock.now += cara.session_idle_seconds + 1
    assert role_of(idle) == 401

    busy = server.test_client()
    sign_in(busy, "cara", PASSWORD)
    start = clock.now
    while clock.now - start < cara.session_max_seconds - 600:
        clock.now += 600
        assert role_of(busy) == "commissioner"
    clock.now = start + cara.session_max_seconds + 1
    assert role_of(busy) == 401


def test_session_limits_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("EXPLORER_SESSION_IDLE_MINUTES", "5")
    monkeypatch.setenv("EXPLORER_SESSION_MAX_HOURS", "2")
    settings = load_settings()
    assert (settings.session_idle_seconds, settings.session_max_seconds) == (300, 7200)
    monkeypatch.setenv("EXPLORER_SESSION_MAX_HOURS", "two")
    with pytest.raises(ValueError, match="whole number"):
        load_settings()


# --------------------------------------------------------------------------- 5. headers


def test_security_headers_on_pages_data_and_the_login_form(cara):
    client = make_server(cara).test_client()
    responses = [client.get("/login")]
    sign_in(client, "cara", PASSWORD)
    responses += [client.get("/"), client.post("/_dash-update-component", json={})]
    for response in responses:
        csp = response.headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
        script_src = next(d for d in csp.split("; ") if d.startswith("script-src"))
        assert "unsafe-eval" not in script_src and "unsafe-inline" not in script_src
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert "camera=()" in response.headers["Permissions-Policy"]
        assert response.headers["Cache-Control"] == "no-store"


# --------------------------------------------------------------------------- 6. sign-out


def test_get_logout_only_offers_a_button_and_a_forged_post_is_refused(cara):
    client = make_server(cara).test_client()
    sign_in(client, "cara", PASSWORD)
    page = client.get("/logout")
    assert page.status_code == 200 and b'method="post"' in page.data and role_of(client) == "commissioner"
    assert client.post("/logout").status_code == 400  # another site's form: no token
    assert client.post("/logout", data={"csrf": ""}).status_code == 400
    assert role_of(client) == "commissioner"
    assert sign_out(client).headers["Location"] == "/login" and role_of(client) == 401


# --------------------------------------------------------------------------- 7. lock-out


def test_concurrent_guesses_get_exactly_the_allowed_number_of_checks(cara, monkeypatch):
    checks: list[int] = []

    def slow_wrong(password_hash: str, password: str) -> bool:
        checks.append(1)
        time.sleep(0.05)  # widen the window between counting and recording
        return False

    monkeypatch.setattr(users, "_verify", slow_wrong)
    n = 12
    barrier = threading.Barrier(n)
    outcomes: list[str] = []

    def guess() -> None:
        store = users.SignInThrottle(AuthDB(cara.data_dir / "auth.sqlite"))  # as a separate worker would
        barrier.wait()
        try:
            users.authenticate(cara, "cara", "wrong password!!", store, address="10.0.0.7")
        except users.SignInRefused as exc:
            outcomes.append("locked" if "locked" in str(exc) else "failed")

    threads = [threading.Thread(target=guess) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(checks) == users.MAX_FAILURES
    assert sorted(outcomes) == ["failed"] * users.MAX_FAILURES + ["locked"] * (n - users.MAX_FAILURES)


def test_a_lock_out_from_one_address_does_not_lock_the_user_out_elsewhere(cara):
    client = make_server(cara).test_client()
    for _ in range(users.MAX_FAILURES):
        sign_in(client, "cara", "wrong password!!", address="10.6.6.6")
    assert b"locked" in sign_in(client, "cara", PASSWORD, address="10.6.6.6").data
    assert sign_in(client, "cara", PASSWORD, address="10.2.2.2").status_code == 302


def test_many_addresses_guessing_one_name_lock_it_everywhere(cara, monkeypatch):
    monkeypatch.setattr(throttle, "NAME_LIMIT", 8)
    store = users.SignInThrottle(AuthDB(cara.data_dir / "auth.sqlite"))
    for i in range(8):
        with pytest.raises(users.SignInRefused, match="check your"):
            users.authenticate(cara, "cara", "wrong password!!", store, address=f"10.0.0.{i}")
    with pytest.raises(users.Throttled, match="locked"):
        users.authenticate(cara, "cara", PASSWORD, store, address="10.0.1.1")


def test_behind_a_trusted_proxy_the_forwarded_client_address_is_the_one_counted(cara):
    proxied = Settings(cara.cache_dir, cara.data_dir, None, trusted_proxies=1)
    client = make_server(proxied).test_client()
    for _ in range(users.MAX_FAILURES):
        token = token_of(client.get("/login").get_data(as_text=True))
        client.post("/login", data={"username": "cara", "password": "wrong password!!", "csrf": token},
                    headers={"X-Forwarded-For": "203.0.113.9"})
    store = users.SignInThrottle(AuthDB(cara.data_dir / "auth.sqlite"))
    assert store.count(address="203.0.113.9") == users.MAX_FAILURES and store.count(address="127.0.0.1") == 0
    assert sign_in(client, "cara", PASSWORD).status_code == 302  # the proxy's other clients are not locked


# --------------------------------------------------------------------------- 8. file permissions


def _loose(directory: Path) -> list[str]:
    return [f"{p.name} {oct(stat.S_IMODE(p.stat().st_mode))}" for p in directory.rglob("*")
            if p.is_file() and stat.S_IMODE(p.stat().st_mode) & 0o077]


def test_auth_files_are_owner_only(cara):
    client = make_server(cara).test_client()
    sign_in(client, "cara", "wrong password!!")
    sign_in(client, "cara", PASSWORD)
    names = {p.name for p in cara.data_dir.iterdir()}
    assert {"users.json", "secret_key", "auth.sqlite", "audit.log"} <= names
    assert _loose(cara.data_dir) == []
    assert stat.S_IMODE(cara.data_dir.stat().st_mode) == 0o700


def test_loose_permissions_left_by_an_older_version_are_fixed_at_start(cara):
    make_server(cara).test_client().get("/login")
    auditlog.close_all()
    for path in cara.data_dir.iterdir():
        path.chmod(0o644)
    make_server(cara).test_client().get("/login")
    assert _loose(cara.data_dir) == []


# --------------------------------------------------------------------------- 9. audit of data access


DASH_BODY = {"output": "map-figure.figure", "outputs": {"id": "map-figure", "property": "figure"},
             "inputs": [{"id": "map-level", "property": "value", "value": "pcn"},
                        {"id": {"type": "filter", "index": 1}, "property": "value", "value": "x" * 10_000}],
             "state": [{"id": "url", "property": "search", "value": "?metric=acp"}],
             "changedPropIds": ["map-level.value"]}


def test_each_callback_and_page_load_is_audited_with_user_role_and_view(cara):
    client = make_server(cara).test_client()
    client.post("/_dash-update-component", json=DASH_BODY)  # signed out: 401, nothing to record
    sign_in(client, "cara", PASSWORD)
    client.get("/?level=pcn")
    client.post("/_dash-update-component", json=DASH_BODY)
    views = [e for e in audit_events(cara) if e["event"] in ("view", "page")]
    assert [(e["event"], e["user"], e["role"]) for e in views] == [("page", "cara", "commissioner"),
                                                                   ("view", "cara", "commissioner")]
    page, view = views
    assert page["view"] == "/?level=pcn" and view["view"] == "map-figure.figure"
    assert "map-level.value=pcn" in view["inputs"] and "url.search=?metric=acp" in view["state"]
    assert len(json.dumps(view)) < 2500 and view["at"]


def test_audit_rotation_keeps_old_files(home):
    small = Settings(home.cache_dir, home.data_dir, None, audit_max_bytes=2_000, audit_backups=50)
    for i in range(200):
        users.audit(small, "view", "cara", "commissioner", n=i)
    path = users.audit_path(small)
    files = [path, *sorted(path.parent.glob("audit.log.*"))]
    assert len(files) > 5
    numbers = sorted(json.loads(line)["n"] for f in files for line in f.read_text().splitlines())
    assert numbers == list(range(200))


def _write_events(settings: Settings, worker: int) -> None:
    for i in range(150):
        users.audit(settings, "view", f"user{worker}", "analyst", n=i, pad="p" * 100)


def test_several_processes_share_one_rotating_log_without_losing_or_mixing_lines(home):
    small = Settings(home.cache_dir, home.data_dir, None, audit_max_bytes=20_000, audit_backups=100)
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_write_events, args=(small, w)) for w in range(3)]
    for p in workers:
        p.start()
    for p in workers:
        p.join(60)
    path = users.audit_path(small)
    lines = [line for f in path.parent.glob("audit.log*") for line in f.read_text().splitlines()]
    events = [json.loads(line) for line in lines]  # every line whole
    assert sorted((e["user"], e["n"]) for e in events) == sorted((f"user{w}", i) for w in range(3) for i in range(150))
    assert len(list(path.parent.glob("audit.log.*"))) >= 2


def test_auditing_a_view_costs_well_under_a_millisecond(home):
    users.audit(home, "view", "warm", "analyst")
    start = time.perf_counter()
    for i in range(300):
        users.audit(home, "view", "cara", "commissioner", view="map-figure.figure", inputs="map-level.value=pcn", n=i)
    assert (time.perf_counter() - start) / 300 < 0.002  # measured ~0.1 ms; slack for a busy machine
