"""The real app (London, with sign-in) under the review's points that need Dash itself: the page
loads under the Content-Security-Policy, the shell's sign-out is a POST form with the CSRF token,
and a real callback is written to the audit log with user, role and view."""

from __future__ import annotations

import base64
import hashlib
import json
import re

import pytest

from explorer.app import ids
from explorer.app.probe import ENDPOINT, CallbackProbe, key
from explorer.app.state import OutreachView
from explorer.auth import users
from explorer.domain.access import Role

PASSWORD = "correct horse battery staple"
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)([^>]*)>(.*?)</script>", re.S)


@pytest.fixture(scope="module")
def app_and_log(settings, london_app_data, tmp_path_factory):
    from explorer.app.factory import create_app

    home = tmp_path_factory.mktemp("app-security")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("EXPLORER_USERS_FILE", str(home / "users.json"))
        mp.setenv("EXPLORER_AUDIT_LOG", str(home / "audit.log"))
        users.add_user(settings, "sec_commissioner", Role.COMMISSIONER, PASSWORD)
        yield create_app(settings, "london", data=london_app_data, warm=False), home / "audit.log"


@pytest.fixture()
def client(app_and_log):
    app, _ = app_and_log
    client = app.server.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    response = client.post("/login", data={"username": "sec_commissioner", "password": PASSWORD, "csrf": token})
    assert response.status_code == 302
    return client


def test_the_page_loads_with_every_inline_script_allowed_by_hash_and_the_other_headers(client):
    response = client.get("/")
    assert response.status_code == 200 and response.mimetype == "text/html"
    csp = response.headers["Content-Security-Policy"]
    page = response.get_data(as_text=True)
    page = re.sub(r"<!--.*?-->", "", page, flags=re.S)  # the IE notice sits in a conditional comment
    executable = [body for attrs, body in INLINE_SCRIPT.findall(page) if "application/json" not in attrs]
    assert executable, "Dash's renderer bootstrap is an inline script"
    for body in executable:
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in csp
    assert "frame-ancestors 'none'" in csp and response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"
    assert "no-store" not in client.get("/assets/explorer.css").headers.get("Cache-Control", "")


def _components(node):
    """Every component in a Dash layout JSON, depth first."""
    if isinstance(node, list):
        for item in node:
            yield from _components(item)
    elif isinstance(node, dict) and "props" in node:
        yield node
        yield from _components(node["props"].get("children"))


def test_the_shells_sign_out_is_a_post_form_carrying_the_token(client):
    layout = json.loads(client.get("/_dash-layout").get_data(as_text=True))
    forms = [c for c in _components(layout) if c["type"] == "Form" and c["props"].get("action") == "/logout"]
    assert len(forms) == 1 and forms[0]["props"]["method"] == "post"
    hidden = [c for c in _components(forms[0]["props"]["children"]) if c["props"].get("name") == "csrf"]
    assert hidden and hidden[0]["props"]["type"] == "hidden"
    assert client.get("/logout").status_code == 200 and client.get("/").status_code == 200  # GET: still in
    assert client.post("/logout", data={"csrf": hidden[0]["props"]["value"]}).headers["Location"] == "/login"
    assert client.get("/").status_code == 302


def test_a_real_callback_is_audited_with_user_role_and_view(client, app_and_log):
    _, audit_log = app_and_log
    probe = CallbackProbe.for_flask(client)
    dep = probe.dependency(ids.OUT_TABLE + ".rowData")
    first = dep["inputs"][0]
    body = probe.request_body(dep, {key(ids.OUT_VIEW, "data"): OutreachView(level="pcn").to_query()},
                              [key(first["id"], first["property"])])
    before = audit_log.read_text().count("\n") if audit_log.exists() else 0
    response = client.post(ENDPOINT, data=json.dumps(body), headers={"Content-Type": "application/json"})
    assert response.status_code == 200
    events = [json.loads(line) for line in audit_log.read_text().splitlines()[before:]]
    views = [e for e in events if e["event"] == "view"]
    assert len(views) == 1
    assert views[0]["user"] == "sec_commissioner" and views[0]["role"] == "commissioner"
    assert ids.OUT_TABLE in views[0]["view"] and "pcn" in views[0]["inputs"] + views[0]["state"]
