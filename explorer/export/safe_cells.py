"""Spreadsheet-safe cells for every CSV/Excel file the app or the CLI writes.

Area, practice and group names come from imported files and public registers, so a name such as
``=HYPERLINK("http://x","click")`` would run as a formula when a downloaded CSV is opened in Excel
or LibreOffice (CSV/formula injection). OWASP's advice is followed: a text cell that starts with
``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading single quote, so the
spreadsheet shows it as text. Numbers stay numbers (a negative difference must remain a value you
can sum), and text that is just a number ("-2.5", "1,234") is left alone: it cannot be a formula.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

__all__ = ["FORMULA_PREFIXES", "safe_cell", "safe_frame", "safe_text"]

FORMULA_PREFIXES: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")
"""Leading characters that make a spreadsheet read a cell as a formula (OWASP CSV injection)."""

_PLAIN_NUMBER = re.compile(r"[+-]?(\d[\d,]*(\.\d*)?|\.\d+)([eE][+-]?\d+)?%?")


def safe_text(text: str) -> str:
    """``text`` with a leading ``'`` if a spreadsheet would otherwise read it as a formula."""
    if text.startswith(FORMULA_PREFIXES) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def safe_cell(value: Any) -> Any:
    """A cell value made safe: strings are neutralised, everything else (numbers, NaN) is unchanged."""
    return safe_text(value) if isinstance(value, str) else value


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells and column names are spreadsheet-safe.

    Only object/string columns are touched, so numeric dtypes (and negative numbers) are kept.
    """
    out = frame.copy()
    for column in out.columns:
        dtype = out[column].dtype
        if pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype):
            out[column] = out[column].map(safe_cell)
    out.columns = [safe_cell(c) for c in out.columns]
    return out
