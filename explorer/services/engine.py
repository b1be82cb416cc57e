"""The metrics engine of a region, built from its bundle and records on disk."""

from __future__ import annotations

from typing import Any

from explorer.config import Settings
from explorer.domain.coverage import CoverageEngine


def load_engine(settings: Settings, region: str, **options: Any) -> CoverageEngine:
    """The CoverageEngine for ``region``: the bundle read now, the records when first needed."""
    return CoverageEngine.load(settings, region, **options)
