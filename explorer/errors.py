"""Errors a user can act on. The CLI prints their message instead of a traceback."""

from __future__ import annotations

from pathlib import Path


class ExplorerError(Exception):
    """Base class: the message is written for the person at the keyboard."""


class DataMissingError(ExplorerError):
    """Public data or the processed bundle is not available yet."""


class SourceFormatError(ExplorerError):
    """A data file does not have the shape we expect."""

    def __init__(self, file: str | Path, problem: str, *, row: int | None = None, column: str | None = None):
        self.file = Path(file).name if file else "?"
        self.row = row
        self.column = column
        self.problem = problem
        where = [f"file {self.file}"]
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column '{column}'")
        super().__init__(f"{', '.join(where)}: {problem}")


class DownloadError(ExplorerError):
    """A source could not be fetched or failed its checksum."""
