"""Problems found in an extract, and the error that lists them: file, row, column and reason."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from explorer.errors import ExplorerError

MAX_LISTED = 50  # problems listed in a message; the rest are counted


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with an extract. `row` is the spreadsheet row (header = 1); None for the file."""

    file: str
    row: int | None
    column: str | None
    reason: str

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f" row {self.row}"
        if self.column is not None:
            where += f"{',' if self.row is not None else ''} column '{self.column}'"
        return f"{where}: {self.reason}"


def format_problems(problems: Sequence[Problem], limit: int = MAX_LISTED) -> str:
    files = sorted({p.file for p in problems})
    count = len(problems)
    head = (f"nothing was imported from {', '.join(files) or 'the file'}: "
            f"{count} problem{'s' if count != 1 else ''} (fix them and import the file again)")
    lines = [head, *(f"  {p}" for p in problems[:limit])]
    if count > limit:
        rest = pd.Series([p.column or "(file)" for p in problems[limit:]]).value_counts()
        by_column = ", ".join(f"{col} {n:,}" for col, n in rest.items())
        lines.append(f"  ... and {count - limit:,} more problems (by column: {by_column})")
    return "\n".join(lines)


class ImportRejected(ExplorerError):
    """An extract failed its checks; nothing was stored. `problems` holds every problem found."""

    def __init__(self, problems: Iterable[Problem], limit: int = MAX_LISTED):
        self.problems = list(problems)
        super().__init__(format_problems(self.problems, limit))


def file_problem(file: str | Path, reason: str, row: int | None = None, column: str | None = None
                 ) -> ImportRejected:
    """The error for a problem that stops reading at once (unreadable file, a limit exceeded)."""
    return ImportRejected([Problem(Path(file).name, row, column, reason)])


def quote(value: object, width: int = 40) -> str:
    value = str(value)
    return f"'{value if len(value) <= width else value[:width - 3] + '...'}'"


class Collector:
    """Problems of one file, added a column at a time (vectorised checks report whole masks)."""

    def __init__(self, file: str):
        self.file = file
        self.items: list[Problem] = []

    def add(self, rows: Iterable[int], column: str | None, reasons: str | Iterable[str]) -> None:
        rows = list(rows)
        if isinstance(reasons, str):
            self.items.extend(Problem(self.file, int(r), column, reasons) for r in rows)
        else:
            self.items.extend(Problem(self.file, int(r), column, why) for r, why in zip(rows, reasons, strict=True))

    def mask(self, mask: pd.Series, column: str | None, reason: str | Callable[[object], str],
             values: pd.Series | None = None) -> None:
        """Report every row where `mask` holds; `reason` is a text or a function of the row's value."""
        if not mask.any():
            return
        rows = mask.index[mask.to_numpy(dtype=bool)]
        if callable(reason):
            self.add(rows, column, (reason(v) for v in values.loc[rows]))
        else:
            self.add(rows, column, reason)
