"""Users, their roles and the sign-in check. No web framework here.

- Users live in a JSON configuration file (`EXPLORER_USERS_FILE`, default `<data_dir>/users.json`):
  name -> role and an argon2id password hash. Plain passwords are never stored.
- Input is checked for length and characters before anything is hashed, stored or logged.
- Throttling (explorer.auth.throttle) is decided before argon2 runs, so spammers cost a SQLite
  query, not 50 ms of CPU each. Unknown names are not hashed either: the answer waits about as
  long as a real check (sleeping, which costs no CPU) so timing does not reveal which names exist.
- Audit events go to explorer.auth.auditlog (re-exported here as `audit`).
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from explorer.auth.auditlog import audit, audit_path
from explorer.auth.files import FILE_MODE, private_dir
from explorer.auth.throttle import PAIR_LIMIT, WINDOW, SignInRefused, SignInThrottle, Throttled
from explorer.config import Settings
from explorer.domain.access import Role
from explorer.errors import ExplorerError

MAX_FAILURES = PAIR_LIMIT  # failures from one address that lock a name there
LOCKOUT_WINDOW = WINDOW
MIN_PASSWORD_LENGTH = 12
MAX_NAME_LENGTH = 64
MAX_PASSWORD_BYTES = 1024  # argon2 would hash megabytes; nobody types more than this
NAME_PATTERN = re.compile(r"[A-Za-z0-9._-]{1,%d}" % MAX_NAME_LENGTH)
_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
_verify_seconds = 0.05  # running estimate of one verification, for unknown names' delay


@dataclass(frozen=True)
class User:
    name: str
    role: Role


class BadSignInInput(ExplorerError):
    """A name or password that no account can have (too long, odd characters): refused unlogged."""


def check_input(name: str, password: str) -> None:
    """Raise BadSignInInput unless both are within limits; nothing is hashed or written first."""
    if not NAME_PATTERN.fullmatch(name) or len(password.encode("utf-8", "surrogatepass")) > MAX_PASSWORD_BYTES:
        raise BadSignInInput(f"User names are at most {MAX_NAME_LENGTH} letters, digits, '.', '-' or '_'; "
                             f"passwords at most {MAX_PASSWORD_BYTES} bytes.")


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
    """Replace the file atomically; the temporary copy is owner-only from its first byte (hashes)."""
    private_dir(path.parent)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(json.dumps(users, indent=2, sort_keys=True))
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def add_user(settings: Settings, name: str, role: Role | str, password: str) -> User:
    if not NAME_PATTERN.fullmatch(name):
        raise ExplorerError(f"user name '{name[:80]}' must be 1-{MAX_NAME_LENGTH} letters, digits, '.', '-' or '_'")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ExplorerError(f"password must have at least {MIN_PASSWORD_LENGTH} characters")
    if len(password.encode("utf-8", "surrogatepass")) > MAX_PASSWORD_BYTES:
        raise ExplorerError(f"password must have at most {MAX_PASSWORD_BYTES} bytes")
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


def _verify(password_hash: str, password: str) -> bool:
    """argon2 verification, timed so unknown names can be made to wait as long."""
    global _verify_seconds
    start = time.perf_counter()
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
    finally:
        _verify_seconds = 0.8 * _verify_seconds + 0.2 * (time.perf_counter() - start)


def authenticate(settings: Settings, name: str, password: str, throttle: SignInThrottle, *, address: str,
                 now: float | None = None) -> User:
    """The user, or SignInRefused. Over-limit attempts are refused before any hashing, even with
    the right password; BadSignInInput for input no account can have (nothing recorded)."""
    check_input(name, password)
    now = time.time() if now is None else now
    try:
        ticket = throttle.reserve(name, address, now)
    except Throttled:
        audit(settings, "sign_in_locked", name, address=address)
        raise
    entry = _load(users_file(settings)).get(name)
    if entry is None:
        time.sleep(_verify_seconds)  # as long as a real check, without the CPU
    if entry is None or not _verify(entry["password_hash"], password):
        audit(settings, "sign_in_failed", name, address=address)
        raise SignInRefused("Sign-in failed: check your user name and password.")
    throttle.succeeded(ticket)
    user = User(name, Role(entry["role"]))
    audit(settings, "sign_in", name, user.role.value, address=address)
    return user


__all__ = ["LOCKOUT_WINDOW", "MAX_FAILURES", "BadSignInInput", "SignInRefused", "SignInThrottle", "Throttled",
           "User", "add_user", "audit", "audit_path", "authenticate", "check_input", "get_user", "list_users",
           "remove_user", "users_file"]
