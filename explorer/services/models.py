"""The risk model of a region: fitted on its records, everyone scored, the model card written."""

from __future__ import annotations

from typing import Any

from explorer.config import Settings
from explorer.domain import risk_card


def train_region(settings: Settings, region: str, **options: Any) -> dict:
    """Fit the model on the region's people, score everyone, save model and report (see risk_card)."""
    return risk_card.train_region(settings, region, **options)
