"""Checking a whole extract (all strings) against its Layout: pure and vectorised, every problem found."""

from __future__ import annotations

import pandas as pd

from explorer.records.imports.checks import (
    FALSE_WORDS,
    LSOA_COLUMNS,
    MONTH_COLUMNS,
    PRACTICE_COLUMNS,
    TRUE_WORDS,
    UPPER_CASE_COLUMNS,
    ImportContext,
    check_date,
    check_lsoa,
    check_month,
    check_number,
    check_text,
)
from explorer.records.imports.problems import Collector, Problem, quote
from explorer.records.schema import NOT_STATED_EMPTY, NOT_STATED_WORDS, Layout
from explorer.sources.tabular import normalise_header

# Other header spellings accepted for a column (compared after normalise_header).
HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "lsoa_code": ("lsoa", "lsoa21cd", "lsoa11cd", "lsoa 2021 code", "lsoa 2011 code", "lsoa code 2021",
                  "lsoa code 2011", "lsoa21", "lsoa11"),
    "practice_code": ("gp practice code", "practice ods code", "gp code"),
}
# (earlier, later): when both dates are present, the later one may not come before the earlier one.
DATE_ORDER: dict[str, tuple[tuple[str, str], ...]] = {
    "plans": (("created_date", "last_reviewed_date"), ("created_date", "closed_date")),
}


def _match_headers(frame: pd.DataFrame, layout: Layout, problems: Collector, header_row: int
                   ) -> tuple[dict[str, str], list[str]]:
    """File column -> layout column; and the file's columns that match nothing."""
    wanted: dict[str, str] = {}
    for name in layout.columns:
        for spelling in (name, *HEADER_ALIASES.get(name, ())):
            wanted.setdefault(normalise_header(spelling), name)
    matched: dict[str, list[int]] = {}
    ignored = []
    for position, header in enumerate(frame.columns):
        target = wanted.get(normalise_header(header))
        if target is None:
            ignored.append(str(header))
        else:
            matched.setdefault(target, []).append(position)
    mapping: dict[int, str] = {}
    for target, positions in matched.items():
        if len(positions) > 1:
            names = ", ".join(f"'{frame.columns[p]}'" for p in positions)
            problems.add([header_row], target, f"{len(positions)} columns ({names}) all mean '{target}'; keep one")
        mapping[positions[0]] = target
    missing = [name for name, col in layout.columns.items() if col.required and name not in matched]
    for name in missing:
        problems.add([header_row], name, f"required column '{name}' is missing (the header row has: "
                     f"{', '.join(map(str, frame.columns[:20]))}{' ...' if len(frame.columns) > 20 else ''}); "
                     "see docs/import-layouts.md")
    return {str(p): t for p, t in mapping.items()}, ignored


def validate_extract(frame: pd.DataFrame, layout: Layout, context: ImportContext
                     ) -> tuple[pd.DataFrame, list[Problem]]:
    """Check every row of an all-strings extract against `layout`; return (typed frame, every problem).

    The frame's index is taken as the spreadsheet row number when it is named 'row' (as read_extract
    makes it), else rows are numbered 2, 3, ... The typed frame has the layout's columns in the stored
    types (str, Int64, boolean, datetime64, float64) with invalid cells empty, a default index, and
    `attrs["import"]` = {converted_2011, converted_by_split, split_examples, notices, not_stated (column ->
    rows recorded as not stated, stored as the column's ``not_stated`` value)}. It is only fit
    to store when the problem list is empty."""
    problems = Collector(context.file)
    stats: dict = {"converted_2011": 0, "converted_by_split": 0, "split_examples": [], "notices": [],
                   "not_stated": {}}
    header_row = int(frame.attrs.get("header_row", 1))
    if frame.index.name != "row":
        frame = frame.set_axis(pd.RangeIndex(header_row + 1, header_row + 1 + len(frame), name="row"))
    if len(frame) == 0:
        problems.add([header_row], None, "the file has a header row but no data rows")
    mapping, ignored = _match_headers(frame, layout, problems, header_row)
    if ignored:
        stats["notices"].append(f"ignored column(s) not in the {layout.name} layout: {', '.join(ignored)}")
    renamed = frame.set_axis([str(i) for i in range(frame.shape[1])], axis=1)[list(mapping)]
    renamed.columns = list(mapping.values())

    typed: dict[str, pd.Series] = {}
    for name, col in layout.columns.items():
        if name not in renamed.columns:
            continue
        text = renamed[name].astype("str").str.strip()
        if name in UPPER_CASE_COLUMNS:
            text = text.str.upper()
        present = text != ""
        if col.not_stated is not None:  # "not stated", "unknown", blank: kept, counted, never a refusal
            unstated = ~present | text.str.lower().str.replace(r"[\s\-]+", "_", regex=True).isin(NOT_STATED_WORDS)
            if unstated.any():
                stats["not_stated"][name] = int(unstated.sum())
            text = text.mask(unstated, "" if col.not_stated == NOT_STATED_EMPTY else col.not_stated)
            present = text != ""
        elif col.required:
            problems.mask(~present, name, "empty, but a value is required")
        if name in MONTH_COLUMNS:
            typed[name] = check_month(text, present, name, context, problems)
        elif col.kind == "date":
            typed[name] = check_date(text, present, name, context, problems)
        elif col.kind in ("int", "float"):
            typed[name] = check_number(text, present, name, col, problems)
        elif col.kind == "bool":
            lower = text.str.lower()
            yes, no = lower.isin(TRUE_WORDS), lower.isin(FALSE_WORDS)
            problems.mask(present & ~(yes | no), name, lambda v: f"{quote(v)} is not yes or no (write Y/N, "
                          "yes/no, true/false or 1/0)", text)
            typed[name] = yes.astype("boolean").where(yes | no)
        elif col.allowed is not None:
            canonical = text.str.lower().str.replace(r"[\s\-]+", "_", regex=True)
            bad = present & ~canonical.isin(col.allowed)
            allowed = ", ".join(col.allowed)
            problems.mask(bad, name, lambda v: f"{quote(v)} is not one of the allowed values: {allowed}", text)
            typed[name] = canonical.where(present & ~bad)
        elif name in LSOA_COLUMNS:
            typed[name] = check_lsoa(text, present, name, context, problems, stats)
        else:
            typed[name] = check_text(text, present, name, problems)
            if name in PRACTICE_COLUMNS and context.known_practices is not None:
                unknown = typed[name].notna() & ~text.isin(context.known_practices)
                problems.mask(unknown, name, lambda v: f"unknown practice code {quote(v)} (not a practice of "
                              f"{context.region_label})", text)
                typed[name] = typed[name].where(~unknown)
        reference = context.references.get(name)
        if reference is not None:
            table, ids = reference
            missing = present & typed[name].notna() & ~typed[name].isin(ids)
            problems.mask(missing, name, lambda v: f"{name} {quote(v)} is not in the {table} table", text)

    for earlier, later in DATE_ORDER.get(layout.name, ()):
        if earlier in typed and later in typed:
            before = (typed[later] < typed[earlier]).to_numpy(dtype=bool)
            if before.any():
                problems.add(frame.index[before], later, (
                    f"{a:%Y-%m-%d} is before {earlier} {b:%Y-%m-%d}"
                    for a, b in zip(typed[later][before], typed[earlier][before], strict=True)))

    key = layout.key.split(",")
    if all(k in typed for k in key):
        keys = pd.DataFrame({k: typed[k] for k in key})
        complete = keys.notna().all(axis=1)
        joined = keys.loc[complete, key[0]].astype("str")
        for k in key[1:]:
            joined = joined + " / " + keys.loc[complete, k].astype("str")
        if joined.duplicated().any():
            first_row = pd.Series(joined.index, index=joined.index).groupby(joined.to_numpy()).transform("first")
            dup = joined.duplicated(keep="first")
            label = ", ".join(key)
            problems.add(joined.index[dup.to_numpy()], label,
                         (f"{label} {quote(v)} appears more than once (first on row {r})"
                          for v, r in zip(joined[dup], first_row[dup], strict=True)))

    order = {name: i for i, name in enumerate(layout.columns)}
    found = sorted(problems.items, key=lambda p: (p.row or 0, order.get((p.column or "").split(",")[0], -1)))
    out = pd.DataFrame(typed).reset_index(drop=True) if typed else pd.DataFrame()
    out = out[[c for c in layout.columns if c in out.columns]]
    out.attrs["import"] = stats
    return out, found

