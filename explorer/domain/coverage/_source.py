"""Where the engine's cell tables come from: the :class:`CellSource` protocol."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Protocol

import pandas as pd

#: A validated risk definition as the cell tables key it: (kind, value).
RiskKey = tuple[str, float]


class CellSource(Protocol):
    """Where the engine's aggregate cell tables come from (one row per cell: LSOA code, month, the
    person dimensions and the summed measures). ``RecordCells`` of :mod:`explorer.services.engine`
    reads them from a region's records; a test can serve hand-made frames."""

    @property
    def has_records(self) -> bool:
        """Whether people and plans can be read."""
        ...

    @property
    def has_risk_scores(self) -> bool:
        """Whether a trained risk model has scored the people."""
        ...

    @property
    def has_users(self) -> bool:
        """Whether clinician users can be read."""
        ...

    def person_cells(self, risk: RiskKey | None) -> pd.DataFrame:
        """Person cells, flagged high risk under ``risk`` (None: no flag)."""
        ...

    def plan_cells(self, months: Sequence[dt.date], risk: RiskKey | None) -> pd.DataFrame:
        """Plan cells for these month ends."""
        ...

    def user_cells(self, months: Sequence[dt.date]) -> pd.DataFrame:
        """Clinician-user cells for these month ends."""
        ...
