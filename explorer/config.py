"""One frozen Settings object, read from the environment once."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "population-health-explorer"
REGIONS = ("london", "england")


@dataclass(frozen=True)
class Settings:
    cache_dir: Path  # downloaded public sources (never committed)
    data_dir: Path  # processed bundles and synthetic data built from them
    mirror: Path | None  # a local copy of the official files, used in place of the internet
    session_idle_seconds: int = 30 * 60  # a signed-in session unused this long is signed out
    session_max_seconds: int = 12 * 3600  # and any session ends this long after sign-in
    trusted_proxies: int = 0  # reverse proxies in front of the app whose X-Forwarded-For is believed
    audit_max_bytes: int = 50 * 1024 * 1024  # the audit log rotates at this size
    audit_backups: int = 200  # rotated audit files kept (audit.log.1 ... .N); archive them before N

    def bundle_dir(self, region: str) -> Path:
        return self.data_dir / "bundles" / region


def load_settings(mirror: str | Path | None = None) -> Settings:
    """Settings from arguments first, then EXPLORER_* environment variables, then user dirs."""
    env = os.environ
    mirror_value = mirror if mirror is not None else env.get("EXPLORER_MIRROR") or None
    return Settings(
        cache_dir=Path(env.get("EXPLORER_CACHE_DIR") or platformdirs.user_cache_dir(APP_NAME)),
        data_dir=Path(env.get("EXPLORER_DATA_DIR") or platformdirs.user_data_dir(APP_NAME)),
        mirror=Path(mirror_value).expanduser().resolve() if mirror_value else None,
        session_idle_seconds=_int(env, "EXPLORER_SESSION_IDLE_MINUTES", 30) * 60,
        session_max_seconds=_int(env, "EXPLORER_SESSION_MAX_HOURS", 12) * 3600,
        trusted_proxies=_int(env, "EXPLORER_TRUSTED_PROXIES", 0),
        audit_max_bytes=_int(env, "EXPLORER_AUDIT_MAX_MB", 50) * 1024 * 1024,
        audit_backups=_int(env, "EXPLORER_AUDIT_BACKUPS", 200),
    )


def _int(env: os._Environ | dict, name: str, default: int) -> int:
    """A non-negative whole number from the environment; a typo fails at start, not at the first sign-in."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit():
        raise ValueError(f"{name}={raw!r}: expected a whole number")
    return int(raw)
