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
    )
