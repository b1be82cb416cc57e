"""Sign-in for the Dash app: Flask-Login sessions, a login page, and the server-side role check.

Every request except the login page is refused without a signed-in user: pages redirect to
/login, Dash's own endpoints (layout, callbacks, scripts) answer 401. Callbacks call
`current_role()` and pass the role to the domain's access and disclosure rules, so a forged
request straight to /_dash-update-component gets no more than the role may see.
`--demo` mode skips sign-in and runs every request as one named role, and says so on screen.
"""

from __future__ import annotations

import hmac
import html
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from flask import Flask, Response, current_app, redirect, request, session
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user

from explorer.auth import users as user_store
from explorer.config import Settings
from explorer.domain.access import AccessDenied, Role

DEMO_BANNER_TEXT = "Demo mode: no sign-in. You are viewing as role '{role}'."
LOGIN_PATH, LOGOUT_PATH = "/login", "/logout"
EXTENSION = "explorer_auth"


@dataclass(frozen=True)
class AuthState:
    settings: Settings
    demo_role: Role | None
    lockout: user_store.LockoutStore


class SessionUser(UserMixin):
    def __init__(self, user: user_store.User):
        self.id = user.name
        self.role = user.role


def _secret_key(settings: Settings) -> bytes:
    """From EXPLORER_SECRET_KEY, else a random key kept in the data dir so all workers share it."""
    if os.environ.get("EXPLORER_SECRET_KEY"):
        return os.environ["EXPLORER_SECRET_KEY"].encode()
    path = settings.data_dir / "secret_key"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(secrets.token_bytes(32))
    except FileExistsError:
        pass
    return Path(path).read_bytes()


def init_auth(server: Flask, settings: Settings, demo_role: Role | None) -> None:
    """Configure sessions and guard every route. `demo_role` set means: no sign-in, that role."""
    secure = os.environ.get("EXPLORER_HTTPS", "").lower() in {"1", "true", "yes"}
    server.config.update(
        SECRET_KEY=_secret_key(settings),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=secure,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SECURE=secure,
    )
    state = AuthState(settings, Role(demo_role) if demo_role else None,
                      user_store.LockoutStore(settings.data_dir / "auth.sqlite"))
    server.extensions[EXTENSION] = state
    if state.demo_role is not None:
        return
    manager = LoginManager(server)

    @manager.user_loader
    def load_user(name: str) -> SessionUser | None:
        user = user_store.get_user(state.settings, name)
        return SessionUser(user) if user else None

    server.add_url_rule(LOGIN_PATH, "login", _login, methods=["GET", "POST"])
    server.add_url_rule(LOGOUT_PATH, "logout", _logout, methods=["GET", "POST"])
    server.before_request(_require_sign_in)


def _state() -> AuthState:
    return current_app.extensions[EXTENSION]


def current_role() -> Role:
    """The role of the request's user; AccessDenied if nobody is signed in."""
    state = _state()
    if state.demo_role is not None:
        return state.demo_role
    if current_user and current_user.is_authenticated:
        return current_user.role
    raise AccessDenied("Sign in to see data.")


def current_user_name() -> str:
    state = _state()
    if state.demo_role is not None:
        return f"demo:{state.demo_role.value}"
    return current_user.id if current_user and current_user.is_authenticated else "anonymous"


def is_demo() -> bool:
    return _state().demo_role is not None


def _require_sign_in() -> Response | None:
    if request.path in (LOGIN_PATH, LOGOUT_PATH) or request.path == "/assets/login.css":
        return None
    if current_user.is_authenticated:
        return None
    if request.path.startswith("/_") or request.method != "GET":
        return Response('{"error": "sign in required"}', status=401, mimetype="application/json")
    return redirect(f"{LOGIN_PATH}?next={request.full_path.rstrip('?')}")


def _csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(24)
    return session["csrf"]


def _safe_next(target: str | None) -> str:
    parsed = urlparse(target or "/")
    return target if target and not parsed.netloc and not parsed.scheme and target.startswith("/") else "/"


def _login() -> Response | str:
    message = ""
    if request.method == "POST":
        if not hmac.compare_digest(request.form.get("csrf", ""), session.get("csrf", "")):
            message = "Your sign-in form expired; please try again."
        else:
            state = _state()
            name = request.form.get("username", "").strip()
            try:
                user = user_store.authenticate(state.settings, name, request.form.get("password", ""),
                                               state.lockout)
            except user_store.SignInRefused as exc:
                message = str(exc)
            else:
                session.clear()
                login_user(SessionUser(user))
                return redirect(_safe_next(request.args.get("next")))
    return _login_page(message, _csrf_token())


def _logout() -> Response:
    if current_user.is_authenticated:
        user_store.audit(_state().settings, "sign_out", current_user.id, current_user.role.value)
    logout_user()
    session.clear()
    return redirect(LOGIN_PATH)


def _login_page(message: str, token: str) -> str:
    alert = f'<p role="alert" class="error">{html.escape(message)}</p>' if message else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in - Population Health Explorer</title>
<style>
body{{font-family:system-ui,-apple-system,"Segoe UI",Arial,sans-serif;background:#f3f4f6;color:#111;margin:0}}
main{{max-width:24rem;margin:10vh auto;background:#fff;padding:2rem;border-radius:8px;border:1px solid #d1d5db}}
h1{{font-size:1.4rem;margin-top:0}} label{{display:block;margin-top:1rem;font-weight:600}}
input{{width:100%;padding:.5rem;font-size:1rem;border:1px solid #6b7280;border-radius:4px;box-sizing:border-box}}
button{{margin-top:1.5rem;padding:.6rem 1.2rem;font-size:1rem;background:#005eb8;color:#fff;border:0;border-radius:4px}}
button:focus,input:focus{{outline:3px solid #ffb81c;outline-offset:1px}} .error{{color:#a4000f;font-weight:600}}
</style></head><body><main>
<h1>Population Health Explorer</h1><p>Sign in to see care-plan coverage.</p>{alert}
<form method="post"><input type="hidden" name="csrf" value="{token}">
<label for="username">User name</label><input id="username" name="username" autocomplete="username" required>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button></form></main></body></html>"""


def audit_export(what: str, **details: object) -> None:
    """Record an export (CSV download, figure, pack) by the current user in the audit log."""
    user_store.audit(_state().settings, "export", current_user_name(), current_role().value, what=what, **details)


__all__ = ["DEMO_BANNER_TEXT", "AccessDenied", "audit_export", "current_role", "current_user_name", "init_auth",
           "is_demo"]
