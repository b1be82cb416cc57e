"""Helpers shared by the sign-in tests: a bare Flask server with the app's auth, and sign-in."""

from __future__ import annotations

import re

from flask import Flask, jsonify

from explorer.app.auth import current_role, init_auth
from explorer.app.security import install_headers
from explorer.config import Settings
from explorer.domain.access import AccessDenied, Role

PASSWORD = "correct horse battery"


def make_server(settings: Settings, demo_role: Role | None = None) -> Flask:
    """Auth, security headers, a page at / and a fake Dash callback endpoint returning the role."""
    server = Flask(__name__)
    init_auth(server, settings, demo_role)
    install_headers(server)

    @server.route("/")
    def index():
        return "map page"

    @server.route("/_dash-update-component", methods=["POST"])
    def callback():
        try:
            return jsonify(role=current_role().value)
        except AccessDenied as exc:
            return jsonify(error=str(exc)), 403

    return server


def token_of(page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


def sign_in(client, name: str, password: str, address: str = "127.0.0.1"):
    page = client.get("/login").get_data(as_text=True)
    return client.post("/login", data={"username": name, "password": password, "csrf": token_of(page)},
                       environ_base={"REMOTE_ADDR": address})


def sign_out(client):
    """The browser's way: the logout page's form, posted with its token."""
    page = client.get("/logout").get_data(as_text=True)
    return client.post("/logout", data={"csrf": token_of(page)})


def role_of(client) -> int | str:
    response = client.post("/_dash-update-component", json={})
    return response.get_json()["role"] if response.status_code == 200 else response.status_code
