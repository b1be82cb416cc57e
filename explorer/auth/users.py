"""Users, their roles, sign-in checks, lock-out and the audit log. No web framework here.

- Users live in a JSON configuration file (`EXPLORER_USERS_FILE`, default `<data_dir>/users.json`):
  name -> role and an argon2id password hash. Plain passwords are never stored.
- Lock-out: after MAX_FAILURES failed sign-ins within LOCKOUT_WINDOW, the account is locked for
  LOCKOUT_WINDOW. The counter lives in SQLite so that every gunicorn worker sees the same count.
- Audit: sign-ins, sign-outs, refusals and exports are appended as JSON lines to `audit.log`
  (opened in append mode, one write per event, never rewritten).
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from explorer.atomic import write_text_atomic
from explorer.config import Settings
from explorer.domain.access import Role
from explorer.errors import ExplorerError

MAX_FAILURES = 5
LOCKOUT_WINDOW = 15 * 60  # seconds
MIN_PASSWORD_LENGTH = 12
_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters


@dataclass(frozen=True)
class User:
    name: str
    role: Role


class SignInRefused(ExplorerError):
    """Wrong name or password, or a locked account; the message never says which part was wrong."""


def users_file(settings: Settings) -> Path:
    return Path(os.environ.get("EXPLORER_USERS_FILE") or settings.data_dir / "users.json")


def _load(path: Path) -> dict[str, dict]:
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ExplorerError(f"{path.name}: not valid JSON (line {exc.lineno}): {exc.msg}") from exc


def _save(path: Path, users: dict[str, dict]) -> None:
    write_text_atomic(path, json.dumps(users, indent=2, sort_keys=True), mode=0o600)  # hashes: owner only


def add_user(settings: Settings, name: str, role: Role | str, password: str) -> User:
    if not name or not name.replace(".", "").replace("-", "").replace("_", "").isalnum():
        raise ExplorerError(f"user name '{name}' must be letters, digits, '.', '-' or '_'")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ExplorerError(f"password must have at least {MIN_PASSWORD_LENGTH} characters")
    try:
        role = Role(role)
    except ValueError:
        raise ExplorerError(f"unknown role '{role}': choose one of {', '.join(r.value for r in Role)}") from None
    path = users_file(settings)
    users = _load(path)
    users[name] = {"role": role.value, "password_hash": _hasher.hash(password),
                   "created_at": datetime.now(UTC).isoformat(timespec="seconds")}
    _save(path, users)
    return User(name, role)


def remove_user(settings: Settings, name: str) -> None:
    path = users_file(settings)
    users = _load(path)
    if name not in users:
        raise ExplorerError(f"no user '{name}' in {path}")
    del users[name]
    _save(path, users)


def list_users(settings: Settings) -> list[User]:
    return [User(name, Role(entry["role"])) for name, entry in sorted(_load(users_file(settings)).items())]


def get_user(settings: Settings, name: str) -> User | None:
    entry = _load(users_file(settings)).get(name)
    return User(name, Role(entry["role"])) if entry else None


class LockoutStore:
    """Failed sign-in counts per user name, shared by every worker process through SQLite."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        with self._connect() as db:
            db.execute("CREATE TABLE IF NOT EXISTS failures (name TEXT, at REAL)")

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=10, isolation_level=None)

    def recent_failures(self, name: str, now: float) -> int:
        with self._connect() as db:
            (count,) = db.execute("SELECT COUNT(*) FROM failures WHERE name = ? AND at > ?",
                                  (name, now - LOCKOUT_WINDOW)).fetchone()
        return int(count)

    def record_failure(self, name: str, now: float) -> None:
        with self._connect() as db:
            db.execute("INSERT INTO failures VALUES (?, ?)", (name, now))
            db.execute("DELETE FROM failures WHERE at < ?", (now - 2 * LOCKOUT_WINDOW,))

    def clear(self, name: str) -> None:
        with self._connect() as db:
            db.execute("DELETE FROM failures WHERE name = ?", (name,))


def audit_path(settings: Settings) -> Path:
    return Path(os.environ.get("EXPLORER_AUDIT_LOG") or settings.data_dir / "audit.log")


def audit(settings: Settings, event: str, user: str | None, role: str | None = None, **details: object) -> None:
    """Append one event; O_APPEND makes each line's write atomic with respect to other workers."""
    path = audit_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps({"at": datetime.now(UTC).isoformat(timespec="seconds"), "event": event, "user": user,
                       "role": role, **details}, default=str) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


def authenticate(settings: Settings, name: str, password: str, lockout: LockoutStore,
                 now: float | None = None) -> User:
    """The user, or SignInRefused. Locked accounts are refused even with the right password."""
    now = time.time() if now is None else now
    if lockout.recent_failures(name, now) >= MAX_FAILURES:
        audit(settings, "sign_in_locked", name)
        raise SignInRefused(f"Too many failed attempts: this account is locked for {LOCKOUT_WINDOW // 60} minutes.")
    entry = _load(users_file(settings)).get(name)
    try:
        if entry is None:
            _hasher.hash(password)  # same work as a real check, so timing does not reveal names
            raise VerificationError("unknown user")
        _hasher.verify(entry["password_hash"], password)
    except (VerificationError, InvalidHashError):
        lockout.record_failure(name, now)
        audit(settings, "sign_in_failed", name)
        raise SignInRefused("Sign-in failed: check your user name and password.") from None
    lockout.clear(name)
    user = User(name, Role(entry["role"]))
    audit(settings, "sign_in", name, user.role.value)
    return user
