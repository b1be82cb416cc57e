"""GP registrations carried from the LSOA codes they were published on to LSOA 2021, with every
patient accounted for.

NHS Digital published patients per practice and LSOA on LSOA **2011** codes until 2024. Each row is
carried to 2021 with the ONS LSOA 2011 -> 2021 lookup (CHGIND):
- U (unchanged) and M (merged: several 2011 LSOAs -> one 2021 LSOA) map one to one;
- S (split: one 2011 LSOA -> several 2021 LSOAs) and X (complex, many to many) apportion the row's
  patients across the 2021 LSOAs the 2011 LSOA maps to, in proportion to their Census 2021 usual
  residents (TS021 totals; equal shares where those are all zero or missing). For X this uses each
  2021 LSOA's whole population, part of which came from other 2011 LSOAs: an approximation for the
  9 complex changes in England and Wales.
- Integer patients are kept exact by largest-remainder rounding within each row, so the converted
  patients of a row add up to its published count.

Rows that cannot be carried are dropped or left unmatched, each with a reason, and counted:
Welsh LSOAs (W01...: outside England), NO2011 (no LSOA recorded), practices missing from the
practice map (closed or merged between the two extracts), and 2011 codes the lookup does not know.
So converted + dropped + unmatched == the file's total, exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from explorer.errors import SourceFormatError

NO_LSOA = "NO2011"
WELSH_PREFIX = "W01"
DROPPED_WELSH = "Welsh LSOA (outside England)"
DROPPED_NO_LSOA = "no LSOA recorded (NO2011)"
UNMATCHED_PRACTICE = "practice not in the practice map (closed or merged between the two extracts)"
UNMATCHED_LSOA = "LSOA 2011 code not in the ONS 2011 to 2021 lookup"
SPLIT_RULE = ("U and M map one to one; S and X apportion each row across its 2021 LSOAs by Census 2021 "
              "usual residents (TS021 totals; equal shares when none), integers by largest remainder")


@dataclass(frozen=True)
class Converted:
    """Registrations on LSOA 2021 (practice_code, lsoa_code, patients) and the accounting."""

    registrations: pd.DataFrame
    accounting: dict


def _reason(regs: pd.DataFrame, practices: set[str], lsoa11: set[str], lsoa21: set[str], lsoa_year: int,
            file: str) -> pd.Series:
    """Why each row is not converted ('' when it is): dropped/unmatched reasons; errors for wrong codes."""
    code = regs["lsoa_code"]
    known = lsoa11 if lsoa_year == 2011 else lsoa21
    other = lsoa21 - lsoa11 if lsoa_year == 2011 else lsoa11 - lsoa21
    wrong_year = code.isin(other)
    if wrong_year.any():
        first = regs[wrong_year].iloc[0]
        expected, got = (2011, 2021) if lsoa_year == 2011 else (2021, 2011)
        raise SourceFormatError(
            file, f"'{first['lsoa_code']}' is an LSOA {got} code where LSOA {expected} codes were expected "
            f"({int(wrong_year.sum())} such rows): is this the file of another year?",
            row=int(first["row"]), column="lsoa_code")
    welsh = code.str.startswith(WELSH_PREFIX)
    no_lsoa = code.eq(NO_LSOA)
    malformed = ~(code.str.match(r"^E01\d{6}$") | welsh | no_lsoa)
    if malformed.any():
        first = regs[malformed].iloc[0]
        raise SourceFormatError(file, f"'{first['lsoa_code']}' is not an LSOA code (E01..., W01...) nor "
                                f"{NO_LSOA}", row=int(first["row"]), column="lsoa_code")
    conditions = [welsh, no_lsoa, ~regs["practice_code"].isin(practices), ~code.isin(known)]
    reasons = [f"dropped: {DROPPED_WELSH}", f"dropped: {DROPPED_NO_LSOA}", f"unmatched: {UNMATCHED_PRACTICE}",
               f"unmatched: {UNMATCHED_LSOA}"]
    return pd.Series(np.select(conditions, reasons, default=""), index=regs.index)


def target_weights(lookup: pd.DataFrame, population21: pd.Series) -> pd.DataFrame:
    """(lsoa11cd, lsoa21cd, weight): each 2011 LSOA's share going to each of its 2021 LSOAs."""
    pairs = lookup[["lsoa11cd", "lsoa21cd"]].drop_duplicates()
    pop = pairs["lsoa21cd"].map(population21).fillna(0).astype(float)
    total = pop.groupby(pairs["lsoa11cd"]).transform("sum")
    count = pairs.groupby("lsoa11cd")["lsoa21cd"].transform("size")
    weight = np.where(total > 0, pop / total.where(total > 0, 1), 1.0 / count)
    return pairs.assign(weight=weight)


def apportion(rows: pd.DataFrame, weights: pd.DataFrame) -> pd.DataFrame:
    """Rows (row_id, lsoa11cd, patients, ...) spread over 2021 LSOAs in whole patients, largest remainder.

    Returns one row per (row_id, lsoa21cd) with integer `patients` that sum, per row_id, to the input."""
    out = rows.merge(weights, left_on="lsoa_code", right_on="lsoa11cd", how="inner", validate="m:m")
    quota = out["patients"].to_numpy(float) * out["weight"].to_numpy()
    base = np.floor(quota + 1e-9)
    out = out.assign(base=base, frac=quota - base)
    short = out["patients"] - out.groupby("row_id")["base"].transform("sum")
    rank = out.sort_values(["row_id", "frac", "lsoa21cd"], ascending=[True, False, True]).groupby("row_id").cumcount()
    out["patients"] = (out["base"] + (rank.reindex(out.index) < short)).astype("int64")
    return out.drop(columns=["base", "frac", "weight", "lsoa11cd"])


def convert_registrations(regs: pd.DataFrame, lookup: pd.DataFrame, population21: pd.Series,
                          practices: set[str], *, lsoa_year: int, file: str) -> Converted:
    """Carry registrations (from readers.read_gp_registrations) to LSOA 2021 and account for every patient.

    `lookup`: readers.read_lsoa11_lookup; `population21`: Census 2021 residents by LSOA 2021 code;
    `practices`: the practice map's practice codes; `lsoa_year`: 2011 (NHS files to 2024) or 2021."""
    lsoa11, lsoa21 = set(lookup["lsoa11cd"]), set(lookup["lsoa21cd"])
    reason = _reason(regs, practices, lsoa11, lsoa21, lsoa_year, file)
    kept = regs.loc[reason.eq(""), ["practice_code", "lsoa_code", "patients"]].copy()
    if lsoa_year == 2011:
        kept["row_id"] = np.arange(len(kept))
        weights = target_weights(lookup, population21)
        many = weights["lsoa11cd"].duplicated(keep=False)
        simple = weights[~many].set_index("lsoa11cd")["lsoa21cd"]
        one = kept["lsoa_code"].map(simple)
        carried = pd.concat([kept[one.notna()].assign(lsoa21cd=one[one.notna()]),
                             apportion(kept[one.isna()], weights[many])], ignore_index=True)
        kept = carried.drop(columns=["lsoa_code", "row_id"]).rename(columns={"lsoa21cd": "lsoa_code"})
    converted = (kept.groupby(["practice_code", "lsoa_code"], as_index=False, sort=True)["patients"].sum()
                 .query("patients > 0").reset_index(drop=True))
    return Converted(converted, _accounting(regs, reason, converted, lsoa_year))


def _accounting(regs: pd.DataFrame, reason: pd.Series, converted: pd.DataFrame, lsoa_year: int) -> dict:
    total = int(regs["patients"].sum())
    by_reason = regs.groupby(reason)["patients"].agg(["sum", "size"])
    groups: dict[str, dict] = {"dropped": {}, "unmatched": {}}
    for label, row in by_reason.drop(index="", errors="ignore").iterrows():
        kind, why = label.split(": ", 1)
        groups[kind][why] = {"patients": int(row["sum"]), "rows": int(row["size"])}
    missing = regs.loc[reason.eq(f"unmatched: {UNMATCHED_PRACTICE}"), "practice_code"].unique()
    accounting = {
        "lsoa_year": lsoa_year,
        "patients_in_file": total,
        "rows_in_file": len(regs),
        "practices_in_file": int(regs["practice_code"].nunique()),
        "converted": int(converted["patients"].sum()),
        **groups,
        "practices_not_in_map": len(missing),
        # all their patients, including the few rows already counted above as Welsh or NO2011
        "practices_not_in_map_patients": int(regs.loc[regs["practice_code"].isin(missing), "patients"].sum()),
        "practices_not_in_map_examples": sorted(missing)[:10],
        "split_rule": SPLIT_RULE if lsoa_year == 2011 else "none: the file is on LSOA 2021 codes",
    }
    accounted = accounting["converted"] + sum(v["patients"] for g in groups.values() for v in g.values())
    if accounted != total:  # a bug, not bad input: every patient must be accounted for
        raise AssertionError(f"GP registrations: {accounted:,} accounted for of {total:,}")
    return accounting
