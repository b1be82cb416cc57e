"""Sign-in for the Dash app: Flask-Login plus server-side sessions, the login and logout pages,
and the server-side role check.

Every request except the login page is refused without a live session: pages redirect to
/login, Dash's own endpoints (layout, callbacks, scripts) answer 401. A session is live only if
its id is on record in the auth database (sign-out deletes it), it is younger than the absolute
limit and it was used within the idle limit. Callbacks call `current_role()` and pass the role
to the domain's access and disclosure rules, so a forged request straight to
/_dash-update-component gets no more than the role may see. `--demo` mode skips sign-in and runs
every request as one named role, and says so on screen.
"""

from __future__ import annotations

import hmac
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from dash import dcc, html
from flask import Flask, Response, current_app, redirect, request, session
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.middleware.proxy_fix import ProxyFix

from explorer.app import auth_pages, view_audit
from explorer.auth import users as user_store
from explorer.auth.db import AuthDB
from explorer.auth.files import FILE_MODE, private_dir, tighten_all
from explorer.auth.sessions import SEEN_RESOLUTION, SessionStore, idle_expired
from explorer.config import Settings
from explorer.domain.access import AccessDenied, Role

DEMO_BANNER_TEXT = "Demo mode: no sign-in. You are viewing as role '{role}'."
LOGIN_PATH, LOGOUT_PATH = "/login", "/logout"
OPEN_PATHS = frozenset({LOGIN_PATH, LOGOUT_PATH, "/assets/login.css"})
EXTENSION = "explorer_auth"
LOGIN_MAX_BODY = 4096  # bytes: name, password and token fit many times over
MAX_FORM_FIELD = 2048  # any form field anywhere (MAX_FORM_MEMORY_SIZE)
MAX_BODY = 8 * 1024 * 1024  # any request (Dash callback bodies are a few KB)
PLAIN = "text/plain; charset=utf-8"


@dataclass(frozen=True)
class AuthState:
    settings: Settings
    demo_role: Role | None
    throttle: user_store.SignInThrottle
    sessions: SessionStore


class SessionUser(UserMixin):
    def __init__(self, user: user_store.User):
        self.id = user.name
        self.role = user.role


def _secret_key(settings: Settings) -> bytes:
    """From EXPLORER_SECRET_KEY, else a random key kept (owner-only) in the data dir so all workers share it."""
    if os.environ.get("EXPLORER_SECRET_KEY"):
        return os.environ["EXPLORER_SECRET_KEY"].encode()
    path = private_dir(settings.data_dir) / "secret_key"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
        with os.fdopen(fd, "wb") as fh:
            fh.write(secrets.token_bytes(32))
    except FileExistsError:
        pass
    return Path(path).read_bytes()


def _secure_existing_files(settings: Settings) -> None:
    """Files an older version (or a restore) may have left readable by others: owner-only now."""
    audit = user_store.audit_path(settings)
    tighten_all([user_store.users_file(settings), settings.data_dir / "secret_key", audit,
                 *audit.parent.glob(audit.name + ".*")])


def init_auth(server: Flask, settings: Settings, demo_role: Role | None) -> None:
    """Configure sessions and guard every route. `demo_role` set means: no sign-in, that role."""
    secure = os.environ.get("EXPLORER_HTTPS", "").lower() in {"1", "true", "yes"}
    _secure_existing_files(settings)
    server.config.update(
        SECRET_KEY=_secret_key(settings), SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=secure, REMEMBER_COOKIE_HTTPONLY=True, REMEMBER_COOKIE_SECURE=secure,
        MAX_CONTENT_LENGTH=MAX_BODY, MAX_FORM_MEMORY_SIZE=MAX_FORM_FIELD, MAX_FORM_PARTS=50,
    )
    if settings.trusted_proxies:  # otherwise every client would share the proxy's address
        n = settings.trusted_proxies
        server.wsgi_app = ProxyFix(server.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]
    db = AuthDB(settings.data_dir / "auth.sqlite")
    state = AuthState(settings, Role(demo_role) if demo_role else None, user_store.SignInThrottle(db),
                      SessionStore(db, settings.session_max_seconds))
    server.extensions[EXTENSION] = state
    server.register_error_handler(RequestEntityTooLarge, _too_large)
    view_audit.install(server, settings, _who)
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


def _who() -> tuple[str, str] | None:
    """(user, role) of a signed-in (or demo) request, else None; for the view audit."""
    try:
        return current_user_name(), current_role().value
    except AccessDenied:
        return None


def client_address() -> str:
    return request.remote_addr or "unknown"


def _session_is_live() -> bool:
    """Signed in, on record server-side, not past the idle or absolute limit; ends it otherwise."""
    if not current_user.is_authenticated:
        return False
    state, now = _state(), time.time()
    if (idle_expired(session.get("seen"), now, state.settings.session_idle_seconds)
            or not state.sessions.is_live(session.get("sid"), current_user.id, now)):
        logout_user()
        session.clear()
        return False
    if now - session["seen"] >= SEEN_RESOLUTION:
        session["seen"] = now
    return True


def _require_sign_in() -> Response | None:
    if request.path in OPEN_PATHS or _session_is_live():
        return None
    if request.path.startswith("/_") or request.method != "GET":
        return Response('{"error": "sign in required"}', status=401, mimetype="application/json")
    return redirect(f"{LOGIN_PATH}?next={request.full_path.rstrip('?')}")


def _csrf_token() -> str:
    if not session.get("csrf"):
        session["csrf"] = secrets.token_urlsafe(24)
    return session["csrf"]


def _csrf_ok() -> bool:
    """The form's token equals this session's: both present, non-empty, compared in constant time."""
    expected, sent = session.get("csrf"), request.form.get("csrf")
    if not isinstance(expected, str) or not expected or not sent:
        return False
    return hmac.compare_digest(sent.encode(), expected.encode())


def _safe_next(target: str | None) -> str:
    if (not target or not target.startswith("/") or target.startswith("//") or "\\" in target
            or any(ord(c) < 32 for c in target)):  # browsers drop tabs and newlines: "/\t/x" is "//x"
        return "/"
    return target


def _too_large(_exc: Exception) -> Response:
    return Response("Request too large.\n", status=413, mimetype=PLAIN)


def _login() -> Response | str:
    message = ""
    if request.method == "POST":
        request.max_content_length = LOGIN_MAX_BODY  # before the form is parsed: 413, nothing read
        if not _csrf_ok():
            message = "Your sign-in form expired; please try again."
        else:
            name, password = request.form.get("username", "").strip(), request.form.get("password", "")
            try:
                user_store.check_input(name, password)
            except user_store.BadSignInInput as exc:
                return Response(f"{exc}\n", status=400, mimetype=PLAIN)
            state = _state()
            try:
                user = user_store.authenticate(state.settings, name, password, state.throttle,
                                               address=client_address())
            except user_store.SignInRefused as exc:
                message = str(exc)
            else:
                _start_session(state, user)
                return redirect(_safe_next(request.args.get("next")))
    return auth_pages.login_page(message, _csrf_token(), user_store.MAX_NAME_LENGTH)


def _start_session(state: AuthState, user: user_store.User) -> None:
    """A fresh cookie (no fixation) carrying a new server-side session id and its last-seen time."""
    now = time.time()
    session.clear()
    login_user(SessionUser(user))
    session["sid"] = state.sessions.create(user.name, now)
    session["seen"] = now


def _logout() -> Response | str:
    """GET shows a sign-out button; only a POST with the session's CSRF token signs out."""
    if request.method == "GET":
        if not _session_is_live():
            return redirect(LOGIN_PATH)
        return auth_pages.logout_page(current_user.id, _csrf_token(), LOGOUT_PATH)
    request.max_content_length = LOGIN_MAX_BODY
    if not _csrf_ok():
        return Response("Sign-out form expired: reload the page and sign out again.\n", status=400, mimetype=PLAIN)
    state = _state()
    state.sessions.revoke(session.get("sid"))
    if current_user.is_authenticated:
        user_store.audit(state.settings, "sign_out", current_user.id, current_user.role.value,
                         address=client_address())
    logout_user()
    session.clear()
    return redirect(LOGIN_PATH)


def logout_form() -> html.Form:
    """The app shell's sign-out control: a POST form with the CSRF token, styled as a link."""
    return html.Form([
        dcc.Input(type="hidden", name="csrf", value=_csrf_token()),
        html.Button("Sign out", type="submit", className="sign-out",
                    style={"background": "none", "border": 0, "padding": 0, "color": "inherit",
                           "textDecoration": "underline", "cursor": "pointer", "font": "inherit"}),
    ], action=LOGOUT_PATH, method="post", style={"display": "inline"})


def audit_export(what: str, **details: object) -> None:
    """Record an export (CSV download, figure, pack) by the current user in the audit log."""
    user_store.audit(_state().settings, "export", current_user_name(), current_role().value, what=what, **details)


__all__ = ["DEMO_BANNER_TEXT", "AccessDenied", "audit_export", "current_role", "current_user_name", "init_auth",
           "is_demo", "logout_form"]
