"""Outreach what-if (issue 17, point 3): what holding a number of care-planning conversations, in
the order a ranking gives, would do to plan coverage among high-risk people and to its slope index
of inequality across deprivation quintiles, for an area and its parent; and an equity audit of who
the selection reaches against who is at high risk. Pure: cell tables in, tables out.

``_allocate`` (rankings, reaching people unit by unit), ``_effect`` (coverage and SII before and
after, the equity audit).
"""

from __future__ import annotations

from explorer.domain.whatif._allocate import RANKINGS, allocate, rank_units
from explorer.domain.whatif._effect import (
    AUDIT_DIMENSIONS,
    WhatIf,
    equity_audit,
    what_if,
)

__all__ = ["AUDIT_DIMENSIONS", "RANKINGS", "WhatIf", "allocate", "equity_audit", "rank_units", "what_if"]
