"""Reading official CSV files tolerantly, and failing with messages that name file, row and column."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from explorer.errors import SourceFormatError

HEADER_ROW = 1  # CSV row numbers in messages count the header as row 1, as a spreadsheet shows them


def normalise_header(name: str) -> str:
    """'LSOA code (2021)' -> 'lsoa code 2021'; 'Males_65+' -> 'males 65'."""
    return re.sub(r"[^0-9a-z]+", " ", str(name).lower()).strip()


def decode_text(raw: bytes, file: str | Path, *, sparse_nul_ok: bool = False) -> str:
    """UTF-8 (with or without BOM) first, then Windows-1252, which Excel writes on Windows.

    A NUL in the first 4 KB means UTF-16 or binary. With `sparse_nul_ok` only many NULs (UTF-16
    text has one in two bytes) or other control bytes beside them do, so that the caller can report
    a stray NUL in text by row and column."""
    if not raw.strip():
        raise SourceFormatError(file, "the file is empty")
    head = raw[:4096]
    nul = b"\x00" in head
    if nul and sparse_nul_ok:  # binary files also hold other control bytes; text with a stray NUL does not
        controls = sum(1 for byte in head if byte < 32 and byte not in (9, 10, 13))
        nul = head.count(b"\x00") * 10 > len(head) or controls > head.count(b"\x00")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")) or nul:
        raise SourceFormatError(
            file, "the file is not text in UTF-8 or Windows-1252 (it looks like UTF-16 or binary); "
            "save it as 'CSV UTF-8'"
        )
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            return raw.decode("cp1252")
        except UnicodeDecodeError as exc:
            raise SourceFormatError(file, f"the file is neither UTF-8 nor Windows-1252 text ({exc.reason})") from exc


def read_raw_bytes(path: Path, member_suffix: str | None = None, *, strict: bool = False) -> bytes:
    """File bytes; from inside a zip archive (as some publishers ship CSVs) if it is one. The member
    ending in `member_suffix` is preferred, else the first CSV; with `strict` it is required (a zip
    of several files, e.g. male, female and all, must not silently give the wrong one)."""
    raw = path.read_bytes()
    if raw[:4] == b"PK\x03\x04":
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            names = [n for n in archive.namelist() if n.lower().endswith(".csv")]
            if member_suffix:
                wanted = [n for n in names if n.lower().endswith(member_suffix.lower())]
                if strict and not wanted:
                    raise SourceFormatError(path, f"the zip archive holds no {member_suffix} (it holds: "
                                            f"{', '.join(archive.namelist()[:6]) or 'nothing'})")
                names = wanted or names
            if not names:
                raise SourceFormatError(path, "the zip archive holds no CSV file")
            return archive.read(names[0])
    return raw


def read_csv_strings(path: Path, member_suffix: str | None = None, *, strict: bool = False) -> pd.DataFrame:
    """Every cell as a string, so that type problems can be reported row by row."""
    text = decode_text(read_raw_bytes(path, member_suffix, strict=strict), path)
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, skipinitialspace=True)
    except pd.errors.ParserError as exc:
        raise SourceFormatError(path, f"not a well-formed CSV file ({exc})") from exc
    except pd.errors.EmptyDataError as exc:
        raise SourceFormatError(path, "the file is empty") from exc
    if frame.empty:
        raise SourceFormatError(path, "the file has a header but no data rows")
    return frame


def match_columns(
    frame: pd.DataFrame, spec: Mapping[str, Sequence[str]], file: str | Path, *, optional: Sequence[str] = ()
) -> pd.DataFrame:
    """Rename the columns we need to canonical names; error naming the column that is missing."""
    normalised = {col: normalise_header(col) for col in frame.columns}
    chosen: dict[str, str] = {}
    for canonical, patterns in spec.items():
        found = next(
            (col for pattern in patterns for col, norm in normalised.items()
             if re.search(pattern, norm) and col not in chosen.values()),
            None,
        )
        if found is None:
            if canonical in optional:
                continue
            expected = " or ".join(f"/{p}/" for p in patterns)
            raise SourceFormatError(
                file,
                f"no column matches '{canonical}' (expected a header like {expected}); "
                f"the file's columns are: {', '.join(map(str, frame.columns[:12]))}"
                + (" ..." if len(frame.columns) > 12 else ""),
                column=canonical,
            )
        chosen[canonical] = found
    return frame[list(chosen.values())].rename(columns={v: k for k, v in chosen.items()})


def to_number(frame: pd.DataFrame, column: str, file: str | Path, *, integer: bool = False) -> pd.Series:
    """Parse a column of strings as numbers, naming the first row that does not parse."""
    cleaned = frame[column].astype(str).str.replace(",", "", regex=False).str.strip()
    values = pd.to_numeric(cleaned, errors="coerce")
    bad = values.isna()
    if bad.any():
        first = int(bad.to_numpy().nonzero()[0][0])
        raise SourceFormatError(
            file,
            f"'{frame[column].iloc[first]}' is not a number ({int(bad.sum())} such rows)",
            row=first + HEADER_ROW + 1,
            column=column,
        )
    if integer:
        if (values % 1 != 0).any():
            first = int((values % 1 != 0).to_numpy().nonzero()[0][0])
            raise SourceFormatError(file, f"'{frame[column].iloc[first]}' is not a whole number",
                                    row=first + HEADER_ROW + 1, column=column)
        return values.astype("int64")
    return values.astype("float64")


LSOA21_PATTERN = re.compile(r"^[EW]01\d{6}$")


def check_codes(
    frame: pd.DataFrame,
    column: str,
    file: str | Path,
    *,
    pattern: re.Pattern[str] = LSOA21_PATTERN,
    known: set[str] | None = None,
    known_2011: set[str] | None = None,
    unique: bool = False,
) -> None:
    """Codes well formed, known, and (optionally) unique; 2011 codes get a message of their own."""
    codes = frame[column]
    malformed = ~codes.str.match(pattern)
    if malformed.any():
        first = int(malformed.to_numpy().nonzero()[0][0])
        raise SourceFormatError(file, f"'{codes.iloc[first]}' is not a valid code of the form {pattern.pattern}",
                                row=first + HEADER_ROW + 1, column=column)
    if known is not None:
        unknown = ~codes.isin(known)
        if unknown.any():
            first = int(unknown.to_numpy().nonzero()[0][0])
            if known_2011 is not None and codes[unknown].isin(known_2011).mean() > 0.5:
                raise SourceFormatError(
                    file,
                    f"{int(unknown.sum())} codes are LSOA 2011 codes, not LSOA 2021 codes "
                    f"(e.g. '{codes.iloc[first]}'); convert them with the ONS LSOA 2011 to 2021 lookup",
                    row=first + HEADER_ROW + 1, column=column,
                )
            raise SourceFormatError(file, f"unknown code '{codes.iloc[first]}' ({int(unknown.sum())} unknown codes)",
                                    row=first + HEADER_ROW + 1, column=column)
    if unique:
        dup = codes.duplicated(keep="first")
        if dup.any():
            first = int(dup.to_numpy().nonzero()[0][0])
            raise SourceFormatError(file, f"code '{codes.iloc[first]}' appears more than once "
                                    f"({int(dup.sum())} duplicate rows)", row=first + HEADER_ROW + 1, column=column)
