"""Size limits of an extract, checked while it is read, so a crafted file is refused early with a
clear message instead of ending in a MemoryError or minutes of parsing.

Each limit is defined once here; the environment variable beside it overrides it (a whole number),
for the rare real extract that is larger. Zip archives (a zipped CSV, and every .xlsx workbook) are
checked twice: the sizes the archive declares before anything is decompressed, then the bytes that
actually come out, counted while streaming, since a crafted archive can declare anything.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

from explorer.records.imports.problems import file_problem


def _limit(env: str, default: int) -> int:
    value = os.environ.get(env, "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else default


MAX_BYTES = _limit("EXPLORER_IMPORT_MAX_BYTES", 256 * 1024**2)  # a CSV, zipped or not, uncompressed; reading takes ~9x
MAX_XLSX_BYTES = _limit("EXPLORER_IMPORT_MAX_XLSX_BYTES", 1024**3)  # all members of a workbook, uncompressed
MAX_XLSX_MEMBERS = _limit("EXPLORER_IMPORT_MAX_XLSX_MEMBERS", 1_000)  # files inside a workbook
MAX_ROWS = _limit("EXPLORER_IMPORT_MAX_ROWS", 5_000_000)  # data rows
MAX_COLUMNS = _limit("EXPLORER_IMPORT_MAX_COLUMNS", 200)  # cells in a row
MAX_CELL_CHARS = _limit("EXPLORER_IMPORT_MAX_CELL_CHARS", 32_767)  # Excel's own limit for one cell
MAX_LINE_CHARS = _limit("EXPLORER_IMPORT_MAX_LINE_CHARS", 1_000_000)  # one CSV line, before the csv module splits it
CHUNK_BYTES = 1 << 20


def _mb(size: int) -> str:
    return f"{size / 1024**2:,.0f} MB" if size >= 1024**2 else f"{size:,} bytes"


def read_file_limited(path: Path, limit: int | None = None) -> bytes:
    """The file's bytes, refused before reading when it is larger than `limit` (default MAX_BYTES)."""
    limit = limit or MAX_BYTES
    size = path.stat().st_size
    if size > limit:
        raise file_problem(path, f"the file is {_mb(size)}, more than the {_mb(limit)} an import may be "
                           "(split the extract, or set EXPLORER_IMPORT_MAX_BYTES)")
    with path.open("rb") as fh:
        raw = fh.read(limit + 1)
    if len(raw) > limit:  # grew while being read
        raise file_problem(path, f"the file is larger than {_mb(limit)}")
    return raw


def _stream_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, budget: int, file: str,
                   keep: bool) -> tuple[bytes, int]:
    """Decompress one member counting bytes; stop as soon as `budget` is passed."""
    out = bytearray() if keep else None
    total = 0
    with archive.open(info) as stream:
        while block := stream.read(CHUNK_BYTES):
            total += len(block)
            if total > budget:
                raise file_problem(file, f"'{info.filename}' decompresses to more than {_mb(budget)} although "
                                   f"it declares {_mb(info.file_size)} (a zip bomb?); nothing was imported")
            if out is not None:
                out += block
    return (bytes(out) if out is not None else b""), total


def read_zip_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, file: str, limit: int | None = None) -> bytes:
    """One member (a zipped CSV), refused on its declared size and again on the bytes it gives
    (zipfile itself stops at the declared size and fails the CRC when the data is longer)."""
    limit = limit or MAX_BYTES
    if info.file_size > limit:
        raise file_problem(file, f"'{info.filename}' in the zip is {_mb(info.file_size)} uncompressed, more than "
                           f"the {_mb(limit)} an import may be (set EXPLORER_IMPORT_MAX_BYTES)")
    return _stream_member(archive, info, limit, file, keep=True)[0]


def check_workbook_archive(archive: zipfile.ZipFile, file: str) -> None:
    """Refuse a workbook with too many members or too many uncompressed bytes before openpyxl opens it
    (openpyxl reads shared strings and styles whole, and would parse a crafted sheet for minutes)."""
    members = archive.infolist()
    if len(members) > MAX_XLSX_MEMBERS:
        raise file_problem(file, f"the workbook holds {len(members):,} files, more than the {MAX_XLSX_MEMBERS:,} "
                           "a real workbook has; save it again from Excel or as CSV")
    declared = sum(m.file_size for m in members)
    if declared > MAX_XLSX_BYTES:
        raise file_problem(file, f"the workbook is {_mb(declared)} uncompressed, more than the "
                           f"{_mb(MAX_XLSX_BYTES)} an import may be; save the sheet as CSV, or set "
                           "EXPLORER_IMPORT_MAX_XLSX_BYTES")
    budget = MAX_XLSX_BYTES
    for member in members:
        budget -= _stream_member(archive, member, budget, file, keep=False)[1]
