"""The error of the risk model."""

from __future__ import annotations

from explorer.errors import ExplorerError


class RiskModelError(ExplorerError):
    """The risk model cannot be trained, loaded or applied as asked (the message says why)."""
