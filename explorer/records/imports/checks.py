"""Vectorised checks of one column of an extract, each reporting every bad row (file, row, column,
reason) and returning the column typed, bad cells empty.

Strict on purpose: whole numbers are plain digits (no thousands separators, exponents or signs
other than a leading minus: `1,2` is not 12 and `1e2` is not an age); dates lie between
EARLIEST_DATE and the extract date; text may not start with = + - @ (see FORMULA_START).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from explorer.records.imports.problems import Collector, quote
from explorer.records.schema import Column

LSOA_PATTERN = r"[EW]01\d{6}"
LSOA_COLUMNS = frozenset({"lsoa_code"})
PRACTICE_COLUMNS = frozenset({"practice_code"})
UPPER_CASE_COLUMNS = frozenset({"lsoa_code", "practice_code", "organisation_code"})  # ODS and ONS codes
MONTH_COLUMNS = frozenset({"month"})
TRUE_WORDS = ("y", "yes", "true", "1")
FALSE_WORDS = ("n", "no", "false", "0")
EARLIEST_DATE = dt.date(1900, 1, 1)  # no care record, admission or login is older: 0999 is a typo
INTEGER_PATTERN = r"-?\d+(?:\.0+)?"  # 12, -3, and 6.0 as Excel-saved CSVs write whole numbers
DECIMAL_PATTERN = r"-?\d+(?:\.\d+)?"
# Text starting with one of these is run as a formula when a CSV export is opened in a spreadsheet
# (OWASP "CSV injection"). Imports refuse it rather than altering what the source system holds.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class ImportContext:
    """What an extract is checked against. A check whose reference data is None is skipped."""

    file: str
    extract_date: dt.date
    today: dt.date = field(default_factory=dt.date.today)
    region: str = ""
    known_lsoas: frozenset[str] | None = None  # LSOA 2021 codes of the region
    lsoa11: pd.DataFrame | None = None  # resolve_lsoa11(): index lsoa11cd -> lsoa21cd, successors
    all_lsoa21: frozenset[str] | None = None  # every 2021 code, to say 'outside the region'
    known_practices: frozenset[str] | None = None
    references: Mapping[str, tuple[str, frozenset[str]]] = field(default_factory=dict)  # column -> (table, ids)

    @property
    def region_label(self) -> str:
        return f"the {self.region} region" if self.region else "the region"


def resolve_lsoa11(lookup: pd.DataFrame, population: pd.Series) -> pd.DataFrame:
    """One 2021 code per 2011 code. Unchanged (U) and merged (M) LSOAs have one successor; split (S) and
    complex (X) ones several, of which the one with the largest 2021 population (`population`, indexed
    by 2021 code) is chosen, ties by code. Columns lsoa21cd, successors (how many there were)."""
    pairs = lookup[["lsoa11cd", "lsoa21cd"]].drop_duplicates()
    pairs = pairs.assign(
        population=pairs["lsoa21cd"].map(population).astype("float64").fillna(-1.0),
        successors=pairs.groupby("lsoa11cd")["lsoa21cd"].transform("size").astype("int64"),
    )
    chosen = pairs.sort_values(["lsoa11cd", "population", "lsoa21cd"], ascending=[True, False, True])
    return chosen.drop_duplicates("lsoa11cd").set_index("lsoa11cd")[["lsoa21cd", "successors"]]


def _parse_dates(text: pd.Series) -> tuple[pd.Series, pd.Series]:
    """yyyy-mm-dd or dd/mm/yyyy (a midnight time is allowed) -> datetime64, and which had a date form."""
    bare = text.str.replace(r"[ T]00:00(:00(\.0+)?)?$", "", regex=True)
    iso = bare.str.fullmatch(r"\d{4}-\d{1,2}-\d{1,2}")
    uk = bare.str.fullmatch(r"\d{1,2}/\d{1,2}/\d{4}")
    parsed = pd.Series(pd.NaT, index=text.index, dtype="datetime64[s]")
    if iso.any():
        parsed[iso] = pd.to_datetime(bare[iso], format="%Y-%m-%d", errors="coerce")
    if uk.any():
        parsed[uk] = pd.to_datetime(bare[uk], format="%d/%m/%Y", errors="coerce")
    return parsed, iso | uk


def check_date(text: pd.Series, present: pd.Series, name: str, ctx: ImportContext, problems: Collector
                ) -> pd.Series:
    parsed, shaped = _parse_dates(text)
    problems.mask(present & ~shaped, name, lambda v: f"{quote(v)} is not a date: write yyyy-mm-dd or dd/mm/yyyy",
                  text)
    ancient = present & shaped & (text.str.extract(r"(\d{4})", expand=False).astype("float64")
                                  < EARLIEST_DATE.year).fillna(False)
    problems.mask(ancient | (parsed < pd.Timestamp(EARLIEST_DATE)).fillna(False), name,
                  lambda v: f"{quote(v)} is before {EARLIEST_DATE:%Y-%m-%d}: is the year right?", text)
    problems.mask(present & shaped & ~ancient & parsed.isna(), name, lambda v: f"{quote(v)} is not a valid date",
                  text)
    parsed = parsed.where(parsed >= pd.Timestamp(EARLIEST_DATE))
    today, extract = pd.Timestamp(ctx.today), pd.Timestamp(ctx.extract_date)
    future = parsed > today
    problems.mask(future, name, lambda v: f"{v:%Y-%m-%d} is in the future (today is {ctx.today:%Y-%m-%d})", parsed)
    late = (parsed > extract) & ~future
    problems.mask(late, name, lambda v: f"{v:%Y-%m-%d} is after the extract date {ctx.extract_date:%Y-%m-%d}",
                  parsed)
    return parsed.where(~(future | late))


def check_month(text: pd.Series, present: pd.Series, name: str, ctx: ImportContext, problems: Collector
                 ) -> pd.Series:
    """YYYY-MM (also MM/YYYY, or a date of the month) -> 'YYYY-MM'."""
    ym = text.str.extract(r"^(?P<y>\d{4})-(?P<m>\d{1,2})$")
    my = text.str.extract(r"^(?P<m>\d{1,2})/(?P<y>\d{4})$")
    parsed, _ = _parse_dates(text)
    year = pd.to_numeric(ym["y"].fillna(my["y"]), errors="coerce").fillna(parsed.dt.year)
    month = pd.to_numeric(ym["m"].fillna(my["m"]), errors="coerce").fillna(parsed.dt.month)
    valid = present & year.notna() & month.between(1, 12)
    problems.mask(present & ~valid, name, lambda v: f"{quote(v)} is not a month: write YYYY-MM (e.g. 2026-03)", text)
    ancient = valid & (year < EARLIEST_DATE.year)
    problems.mask(ancient, name, lambda v: f"{quote(v)} is before {EARLIEST_DATE:%Y-%m}: is the year right?", text)
    valid &= ~ancient
    key = year * 12 + month
    future = valid & (key > ctx.today.year * 12 + ctx.today.month)
    problems.mask(future, name, lambda v: f"{quote(v)} is in the future (today is {ctx.today:%Y-%m-%d})", text)
    late = valid & ~future & (key > ctx.extract_date.year * 12 + ctx.extract_date.month)
    problems.mask(late, name, lambda v: f"{quote(v)} is after the extract date {ctx.extract_date:%Y-%m-%d}", text)
    ok = valid & ~future & ~late
    out = pd.Series(pd.NA, index=text.index, dtype="str")
    if ok.any():
        out[ok] = (year[ok].astype("int64").astype("str") + "-"
                   + month[ok].astype("int64").astype("str").str.zfill(2))
    return out


def check_number(text: pd.Series, present: pd.Series, name: str, col: Column, problems: Collector) -> pd.Series:
    """Plain digits only: pandas would read '1,2' as 12 (thousands separator) and '1e2' as 100."""
    integer = text.str.fullmatch(INTEGER_PATTERN)
    decimal = text.str.fullmatch(DECIMAL_PATTERN)
    shaped = present & (integer if col.kind == "int" else decimal)
    fractional = present & decimal & ~integer if col.kind == "int" else present & False
    loose = present & ~shaped & ~fractional & pd.to_numeric(
        text.str.replace(",", "", regex=False).where(present & ~shaped), errors="coerce").notna()
    problems.mask(fractional, name, lambda v: f"{quote(v)} is not a whole number", text)
    problems.mask(loose, name, lambda v: f"{quote(v)} is not written in plain digits (no thousands separators, "
                  "exponents, spaces or '+')", text)
    problems.mask(present & ~shaped & ~fractional & ~loose, name, lambda v: f"{quote(v)} is not a number", text)
    values = pd.to_numeric(text.where(shaped), errors="coerce")
    ok = shaped & values.notna()
    if col.minimum is not None:
        low = ok & (values < col.minimum)
        problems.mask(low, name, lambda v: f"{quote(v)} is below the minimum {col.minimum:g}", text)
        ok &= ~low
    if col.maximum is not None:
        high = ok & (values > col.maximum)
        problems.mask(high, name, lambda v: f"{quote(v)} is above the maximum {col.maximum:g}", text)
        ok &= ~high
    values = values.where(ok)
    return values.astype("Int64") if col.kind == "int" else values.astype("float64")


def check_text(text: pd.Series, present: pd.Series, name: str, problems: Collector) -> pd.Series:
    """Free text and identifiers: refuse a value a spreadsheet would run as a formula (FORMULA_START).
    Refused rather than neutralised (e.g. by a leading quote) so that what is stored is exactly what
    the source system holds; the message says how to fix the extract."""
    risky = present & text.str.startswith(FORMULA_START)
    problems.mask(risky, name, lambda v: f"{quote(v)} starts with '{v[:1]}', which a spreadsheet would run as a "
                  "formula; remove it from the extract", text)
    return text.where(present & ~risky)


def check_lsoa(codes: pd.Series, present: pd.Series, name: str, ctx: ImportContext, problems: Collector,
                stats: dict) -> pd.Series:
    out = codes.where(present)
    malformed = present & ~codes.str.fullmatch(LSOA_PATTERN)
    problems.mask(malformed, name, lambda v: f"{quote(v)} is not an LSOA code (E01 or W01 and six digits)", codes)
    if ctx.known_lsoas is None:
        return out.where(~malformed)
    other = present & ~malformed & ~codes.isin(ctx.known_lsoas)
    if not other.any():
        return out
    candidates = codes[other]
    if ctx.lsoa11 is not None:
        successor = candidates.map(ctx.lsoa11["lsoa21cd"])
        successors = candidates.map(ctx.lsoa11["successors"])
    else:
        successor = pd.Series(pd.NA, index=candidates.index, dtype="str")
        successors = pd.Series(np.nan, index=candidates.index)
    same = (successor == candidates).fillna(False).astype(bool)
    converted = (successor.notna() & ~same & successor.isin(ctx.known_lsoas)).astype(bool)
    out[converted.index[converted]] = successor[converted]
    by_split = converted & (successors > 1)
    stats["converted_2011"] += int(converted.sum())
    stats["converted_by_split"] += int(by_split.sum())
    if by_split.any():
        examples = (pd.DataFrame({"from": candidates[by_split], "to": successor[by_split]})
                    .drop_duplicates("from").head(3))
        stats["split_examples"].extend(f"{a} -> {b}" for a, b in zip(examples["from"], examples["to"], strict=True))
    region = ctx.region_label
    outside_2021 = ~converted & (candidates.isin(ctx.all_lsoa21 or ()) | same)
    outside_2011 = ~converted & ~outside_2021 & successor.notna()
    unknown = ~converted & ~outside_2021 & ~outside_2011
    where = candidates.index
    problems.add(where[outside_2021.to_numpy()], name,
                 (f"LSOA {quote(v)} is outside {region}" for v in candidates[outside_2021]))
    problems.add(where[outside_2011.to_numpy()], name,
                 (f"LSOA 2011 code {quote(a)} becomes 2021 code '{b}', which is outside {region}"
                  for a, b in zip(candidates[outside_2011], successor[outside_2011], strict=True)))
    lookup_note = ", nor a 2011 LSOA in the ONS lookup" if ctx.lsoa11 is not None else ""
    problems.add(where[unknown.to_numpy()], name,
                 (f"unknown LSOA code {quote(v)} (not a 2021 LSOA of {region}{lookup_note})"
                  for v in candidates[unknown]))
    bad = pd.Series(False, index=codes.index)
    bad[where[(outside_2021 | outside_2011 | unknown).to_numpy()]] = True
    return out.where(~bad)


