"""Importing real person-level extracts (CSV, zipped CSV or .xlsx) into the records tables, all or nothing.

Three steps, each usable on its own:

- `read_extract(path)` (read.py): every cell as a string, indexed by the row number a spreadsheet
  shows (header = 1). Unreadable or unsafe files (too large, zip bombs, NUL characters, formulas)
  raise ImportRejected naming file, row and column; limits are in limits.py.
- `validate_extract(frame, layout, context)` (validate.py, checks.py): pure and vectorised; checks
  every row against the Layout and the context, returns the typed frame and every Problem.
- `import_extract(settings, region, layout_name, path)` (service.py): the two above, then stores the
  table and its provenance as one version, switched to atomically (explorer.records.store.write_table);
  or stores nothing and raises ImportRejected listing the problems.

The layouts are documented for users in docs/import-layouts.md.
"""

from explorer.records.imports.checks import (
    EARLIEST_DATE,
    FORMULA_START,
    LSOA_COLUMNS,
    LSOA_PATTERN,
    PRACTICE_COLUMNS,
    ImportContext,
    resolve_lsoa11,
)
from explorer.records.imports.limits import (
    MAX_BYTES,
    MAX_CELL_CHARS,
    MAX_COLUMNS,
    MAX_ROWS,
    MAX_XLSX_BYTES,
    MAX_XLSX_MEMBERS,
)
from explorer.records.imports.problems import (
    MAX_LISTED,
    ImportRejected,
    Problem,
    format_problems,
)
from explorer.records.imports.read import read_extract
from explorer.records.imports.service import (
    CHUNK_ROWS,
    REFERENCES,
    ImportResult,
    build_context,
    import_extract,
    is_real_table,
    provenance_path,
    read_provenance,
)
from explorer.records.imports.validate import (
    DATE_ORDER,
    HEADER_ALIASES,
    validate_extract,
)
from explorer.records.store import PROVENANCE_FILE

__all__ = [
    "CHUNK_ROWS", "DATE_ORDER", "EARLIEST_DATE", "FORMULA_START", "HEADER_ALIASES", "LSOA_COLUMNS", "LSOA_PATTERN",
    "MAX_BYTES", "MAX_CELL_CHARS", "MAX_COLUMNS", "MAX_LISTED", "MAX_ROWS", "MAX_XLSX_BYTES", "MAX_XLSX_MEMBERS",
    "PRACTICE_COLUMNS", "PROVENANCE_FILE", "REFERENCES", "ImportContext", "ImportRejected", "ImportResult",
    "Problem", "build_context", "format_problems", "import_extract", "is_real_table", "provenance_path",
    "read_extract", "read_provenance", "resolve_lsoa11", "validate_extract",
]
