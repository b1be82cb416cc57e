"""The one definition of the three cell tables, as SQL text (DuckDB dialect) over named tables.

Every engine runs these same statements: DuckDB directly (:mod:`explorer.records.aggregate`),
Spark after transpiling them with sqlglot, Dask per partition of person-level data hashed by
``person_id`` (:mod:`explorer.records.engines`). The statements read the relations
``src_<table>`` (people, plans, plan_reviews, plan_views, risk_scores, users, user_logins) that
each engine registers (``src_risk_scores``: the stored table, or the people scored inside the
engine, :mod:`explorer.records.scoring`); :class:`Inputs` says which tables and optional columns exist, so an extract
without, say, ``closed_date`` gets the same definitions with that column empty.

Exact in every engine. Float sums depend on the order rows are added, which differs between
engines, partitions and runs. So each risk score is first quantised once, the same way everywhere,
to a whole number of 2**-40 (``floor(risk x 2**40)``: multiplying by a power of two is exact, so
every engine gets the same integer), and the risk sums are sums of these integers (and of
``q x (2**40 - q)`` for the variance) as DECIMAL(38, 0), which no engine rounds. The engines hand
back those exact sums and :func:`finish` turns them into floats in one place. The quantum (about
1e-12) is far below any figure the app shows.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pandas as pd
import pyarrow as pa

from explorer.records.schema import COMPLETENESS_ITEMS, KEY_ITEMS, URGENT_CARE_SERVICES

AGE_GROUP_STARTS: tuple[int, ...] = (0, 5, 10, 15, 16, *range(20, 95, 5))  # = metrics.AGE_GROUP_STARTS
CELL_KEYS = ("lsoa_code", "age_group", "sex", "ethnic_group", "frailty", "disabled", "high_risk")
RISK_TABLE = "risk_scores"
#: the tables an aggregation may read (person-level: hashed by person_id for Dask; users by user_id)
PERSON_TABLES = ("people", "plans", "plan_reviews", "plan_views", RISK_TABLE)
USER_TABLES = ("users", "user_logins")

#: risk scores are summed as whole numbers of 2**-RISK_BITS (see the module docstring)
RISK_BITS = 40
RISK_SCALE = 2 ** RISK_BITS
#: exact sums handed back as DECIMAL(38, 0), with the power of two each is scaled by
SCALED_MEASURES: Mapping[str, int] = {
    "risk_sum": RISK_BITS, "risk_var": 2 * RISK_BITS,
    "risk_with_plan": RISK_BITS, "risk_var_with_plan": 2 * RISK_BITS,
    "risk_of_deaths": RISK_BITS, "risk_var_of_deaths": 2 * RISK_BITS,
}
PERSON_MEASURES = ("people", "admitted_next_12m", "risk_sum", "risk_var")
PLAN_MEASURES = ("plans", "items_sum", "items_sumsq", "key_complete", "reviewed", "kc_reviewed",
                 "kc_reviewed_viewed", "urgent_views", "risk_with_plan", "risk_var_with_plan", "deaths",
                 "risk_of_deaths", "risk_var_of_deaths")
USER_MEASURES = ("users", "active_users", "active_users_10plus")
PLAN_KEYS = ("month", *CELL_KEYS)
USER_KEYS = ("month", "lsoa_code")


@dataclass(frozen=True)
class Inputs:
    """The columns of each table present (a table that is absent is missing from the mapping)."""

    columns: Mapping[str, frozenset[str]]

    def has(self, table: str, column: str | None = None) -> bool:
        cols = self.columns.get(table)
        return cols is not None and (column is None or column in cols)


def src(table: str) -> str:
    """The relation name an engine registers a table under."""
    return f"src_{table}"


# --------------------------------------------------------------------------- small pieces


def _months_cte(months: Sequence[dt.date]) -> str:
    if not months:
        raise ValueError("at least one month is needed")
    rows = " UNION ALL ".join(f"SELECT CAST('{m.isoformat()}' AS DATE) AS month_end" for m in months)
    return f"months AS ({rows})"


def _sql_list(values: Sequence[str]) -> str:
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values)


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def double(value: float) -> str:
    """A DOUBLE literal every engine reads back to the same float (a string cast, correctly rounded)."""
    return f"CAST('{'Infinity' if math.isinf(value) else repr(float(value))}' AS DOUBLE)"


def _age_group_sql(column: str) -> str:
    whens = " ".join(f"WHEN {column} >= {start} THEN {start}" for start in reversed(AGE_GROUP_STARTS))
    return f"CASE {whens} ELSE NULL END"


def _people_cte(inputs: Inputs, persons: str | None = None) -> str:
    admitted = ("CAST(admitted_next_12m AS INTEGER)" if inputs.has("people", "admitted_next_12m")
                else "CAST(NULL AS INTEGER)")
    keep = f" WHERE person_id IN (SELECT person_id FROM {persons})" if persons else ""
    return f"""people AS (
        SELECT person_id, lsoa_code, {_age_group_sql('age')} AS age_group, sex, ethnic_group, frailty,
               CAST(disabled AS BOOLEAN) AS disabled, {admitted} AS admitted_next_12m
        FROM {src('people')}{keep})"""


# --------------------------------------------------------------------------- the risk rule


def top_count(n: int, percent: float) -> int:
    """ceil(n x percent / 100), as explorer.domain.risk counts the top N%."""
    return min(n, math.ceil(n * percent / 100 - 1e-9))


_SCORES = f"(SELECT person_id, CAST(risk AS DOUBLE) AS r FROM {src(RISK_TABLE)} WHERE risk IS NOT NULL) s"


class Scores(Protocol):
    """The four order statistics of the risk scores the rule needs, as an engine computes them."""

    def count(self) -> int: ...
    def kth_largest(self, k: int) -> float: ...
    def above_and_tied(self, cut: float) -> tuple[int, int]: ...
    def nth_tied_id(self, cut: float, n: int) -> str: ...


@dataclass(frozen=True)
class SqlScores:
    """:class:`Scores` by SQL; ``scalar(sql)`` runs one statement in the engine and returns its row."""

    scalar: Callable[[str], Sequence[Any]]

    def count(self) -> int:
        return int(self.scalar(f"SELECT count(*) FROM {_SCORES}")[0])

    def kth_largest(self, k: int) -> float:
        return float(self.scalar(f"SELECT r FROM {_SCORES} ORDER BY r DESC LIMIT 1 OFFSET {k - 1}")[0])

    def above_and_tied(self, cut: float) -> tuple[int, int]:
        row = self.scalar(f"SELECT sum(CASE WHEN r > {double(cut)} THEN 1 ELSE 0 END), "
                          f"sum(CASE WHEN r = {double(cut)} THEN 1 ELSE 0 END) FROM {_SCORES}")
        return int(row[0] or 0), int(row[1] or 0)

    def nth_tied_id(self, cut: float, n: int) -> str:
        return str(self.scalar(f"SELECT max(person_id) FROM (SELECT person_id FROM {_SCORES} "
                               f"WHERE r = {double(cut)} ORDER BY person_id LIMIT {n}) t")[0])


def risk_rule(scores: Scores, risk: tuple[str, float]) -> tuple[float, str | None]:
    """(cut-off, last person_id at the cut-off) of a risk definition over the whole risk_scores table.

    ``min_probability`` p: everyone with risk >= p (no tie rule). ``top_percent`` X: exactly
    k = ceil(n x X / 100) people - the highest scores first, and among people tied at the cut-off
    the lowest person_ids first - the same people as ``ORDER BY risk DESC, person_id`` and as
    :func:`explorer.domain.risk.flag_high_risk`. The rule is defined here once; ``scores``
    computes its order statistics in the engine (SQL, or Dask's reductions).
    """
    kind, value = risk
    if kind == "min_probability":
        return float(value), None
    k = top_count(scores.count(), float(value))
    if k == 0:
        return float("inf"), None
    cut = scores.kth_largest(k)
    above, tied = scores.above_and_tied(cut)
    need = k - above
    if need >= tied:
        return cut, None
    return cut, scores.nth_tied_id(cut, need)


def _risk_cte(rule: tuple[float, str | None] | None, persons: str | None = None) -> str:
    """risk(person_id, risk, q, high_risk): ``q`` the quantised score (see the module docstring)."""
    if rule is None:
        return ("risk AS (SELECT CAST(NULL AS VARCHAR) AS person_id, CAST(NULL AS DOUBLE) AS risk, "
                "CAST(NULL AS DECIMAL(18, 0)) AS q, FALSE AS high_risk FROM src_people WHERE FALSE)")
    cut, last = rule
    cut_sql = double(cut)
    tie = "" if last is None else f" AND person_id <= {_quote(last)}"
    keep = f" AND person_id IN (SELECT person_id FROM {persons})" if persons else ""
    return f"""risk AS (
        SELECT person_id, CAST(risk AS DOUBLE) AS risk,
               CAST(floor(CAST(risk AS DOUBLE) * CAST({RISK_SCALE} AS DOUBLE)) AS DECIMAL(18, 0)) AS q,
               CAST(risk AS DOUBLE) > {cut_sql} OR (CAST(risk AS DOUBLE) = {cut_sql}{tie}) AS high_risk
        FROM {src(RISK_TABLE)} WHERE risk IS NOT NULL{keep})"""


def _exact(expr: str) -> str:
    """A sum of quantised scores as DECIMAL(38, 0): no engine rounds it."""
    return f"sum(CAST({expr} AS DECIMAL(38, 0)))"


_VAR = f"r.q * (CAST({RISK_SCALE} AS DECIMAL(18, 0)) - r.q)"


def _key_select(lsoa: str = "p.lsoa_code") -> str:
    return (f"{lsoa} AS lsoa_code, p.age_group, p.sex, p.ethnic_group, p.frailty, p.disabled, "
            "coalesce(r.high_risk, FALSE) AS high_risk")


# --------------------------------------------------------------------------- the three aggregates


def person_cells_sql(inputs: Inputs, rule: tuple[float, str | None] | None) -> str:
    """People per cell; ``rule``: the risk rule's (cut-off, last tied id), None for no flag."""
    return f"""
        WITH {_people_cte(inputs)},
        {_risk_cte(rule)}
        SELECT {_key_select()},
               count(*) AS people,
               sum(p.admitted_next_12m) AS admitted_next_12m,
               {_exact('r.q')} AS risk_sum,
               {_exact(_VAR)} AS risk_var
        FROM people p LEFT JOIN risk r ON r.person_id = p.person_id
        GROUP BY 1, 2, 3, 4, 5, 6, 7"""


def _views_cte(inputs: Inputs) -> str:
    if not inputs.has("plan_views"):
        return """person_views AS (SELECT CAST(NULL AS DATE) AS month_end, CAST(NULL AS VARCHAR) AS person_id,
                  CAST(NULL AS VARCHAR) AS plan_lsoa, CAST(0 AS BIGINT) AS urgent_views FROM src_people WHERE FALSE)"""
    return f"""person_views AS (
            SELECT m.month_end, pl.person_id, min(pl.lsoa_code) AS plan_lsoa, count(*) AS urgent_views
            FROM {src('plan_views')} v
            JOIN plans pl ON pl.plan_id = v.plan_id
            JOIN months m ON CAST(v.view_date AS DATE) <= m.month_end
                         AND CAST(v.view_date AS DATE) > add_months(m.month_end, -12)
            WHERE v.service IN ({_sql_list(URGENT_CARE_SERVICES)})
            GROUP BY m.month_end, pl.person_id)"""


def plan_cells_sql(inputs: Inputs, months: Sequence[dt.date], rule: tuple[float, str | None] | None) -> str:
    """Plan measures per (month, cell) at each month end in ``months``."""
    last_reviewed = ("CAST(last_reviewed_date AS DATE)" if inputs.has("plans", "last_reviewed_date")
                     else "CAST(NULL AS DATE)")
    closed = "CAST(closed_date AS DATE)" if inputs.has("plans", "closed_date") else "CAST(NULL AS DATE)"
    items = " + ".join(f"CAST(coalesce(CAST({c} AS BOOLEAN), FALSE) AS INTEGER)" for c in COMPLETENESS_ITEMS)
    key = " AND ".join(f"coalesce(CAST({c} AS BOOLEAN), FALSE)" for c in KEY_ITEMS)
    reviews = (f"SELECT plan_id, CAST(review_date AS DATE) AS review_date FROM {src('plan_reviews')}"
               " UNION ALL " if inputs.has("plan_reviews") else "")
    return f"""
        WITH {_months_cte(months)},
        plan_persons AS (SELECT DISTINCT person_id FROM {src('plans')}),
        {_people_cte(inputs, 'plan_persons')},
        {_risk_cte(rule, 'plan_persons')},
        plans AS (
            SELECT plan_id, person_id, lsoa_code, CAST(created_date AS DATE) AS created_date, {closed} AS closed_date,
                   status, review_period_months, {last_reviewed} AS last_reviewed_date,
                   {items} AS items, {key} AS key_complete
            FROM {src('plans')}
            WHERE status <> 'draft'),
        live AS (
            SELECT m.month_end, pl.plan_id, pl.person_id, pl.lsoa_code, pl.created_date, pl.review_period_months,
                   pl.items, pl.key_complete,
                   row_number() OVER (PARTITION BY m.month_end, pl.person_id
                                      ORDER BY pl.created_date DESC, pl.plan_id DESC) AS nth
            FROM plans pl JOIN months m
              ON pl.created_date <= m.month_end AND (pl.closed_date IS NULL OR pl.closed_date > m.month_end)
            WHERE NOT (pl.status IN ('withdrawn', 'deceased') AND pl.closed_date IS NULL)),
        review_events AS (
            {reviews}SELECT plan_id, last_reviewed_date AS review_date FROM plans WHERE last_reviewed_date IS NOT NULL),
        last_review AS (
            SELECT l.month_end, l.plan_id, max(e.review_date) AS review_date
            FROM live l JOIN review_events e ON e.plan_id = l.plan_id AND e.review_date <= l.month_end
            WHERE l.nth = 1
            GROUP BY l.month_end, l.plan_id),
        plan_state AS (
            SELECT l.month_end, l.person_id, l.lsoa_code AS plan_lsoa, l.items, l.key_complete,
                   coalesce(add_months(greatest(coalesce(lr.review_date, l.created_date), l.created_date),
                                       CAST(l.review_period_months AS INTEGER)) >= l.month_end, FALSE) AS reviewed
            FROM live l LEFT JOIN last_review lr ON lr.month_end = l.month_end AND lr.plan_id = l.plan_id
            WHERE l.nth = 1),
        {_views_cte(inputs)},
        deaths AS (
            SELECT m.month_end, pl.person_id, min(pl.lsoa_code) AS plan_lsoa
            FROM plans pl JOIN months m ON pl.status = 'deceased' AND pl.closed_date <= m.month_end
            GROUP BY m.month_end, pl.person_id),
        person_month AS (
            SELECT coalesce(s.month_end, v.month_end, d.month_end) AS month_end,
                   coalesce(s.person_id, v.person_id, d.person_id) AS person_id,
                   coalesce(s.plan_lsoa, v.plan_lsoa, d.plan_lsoa) AS plan_lsoa, s.person_id IS NOT NULL AS has_plan,
                   s.items, coalesce(s.key_complete, FALSE) AS key_complete, coalesce(s.reviewed, FALSE) AS reviewed,
                   coalesce(v.urgent_views, 0) AS urgent_views,
                   d.person_id IS NOT NULL AND s.person_id IS NULL AS died
            FROM plan_state s
            FULL OUTER JOIN person_views v ON v.month_end = s.month_end AND v.person_id = s.person_id
            FULL OUTER JOIN deaths d ON d.month_end = coalesce(s.month_end, v.month_end)
                                    AND d.person_id = coalesce(s.person_id, v.person_id))
        SELECT strftime(pm.month_end, '%Y-%m') AS month, {_key_select('coalesce(p.lsoa_code, pm.plan_lsoa)')},
               sum(CAST(pm.has_plan AS INTEGER)) AS plans,
               sum(pm.items) AS items_sum,
               sum(pm.items * pm.items) AS items_sumsq,
               sum(CAST(pm.has_plan AND pm.key_complete AS INTEGER)) AS key_complete,
               sum(CAST(pm.has_plan AND pm.reviewed AS INTEGER)) AS reviewed,
               sum(CAST(pm.has_plan AND pm.key_complete AND pm.reviewed AS INTEGER)) AS kc_reviewed,
               sum(CAST(pm.has_plan AND pm.key_complete AND pm.reviewed AND pm.urgent_views > 0 AS INTEGER))
                   AS kc_reviewed_viewed,
               sum(pm.urgent_views) AS urgent_views,
               {_exact('CASE WHEN pm.has_plan THEN r.q END')} AS risk_with_plan,
               {_exact(f'CASE WHEN pm.has_plan THEN {_VAR} END')} AS risk_var_with_plan,
               sum(CASE WHEN pm.died AND p.person_id IS NOT NULL THEN 1 ELSE 0 END) AS deaths,
               {_exact('CASE WHEN pm.died THEN r.q END')} AS risk_of_deaths,
               {_exact(f'CASE WHEN pm.died THEN {_VAR} END')} AS risk_var_of_deaths
        FROM person_month pm
        LEFT JOIN people p ON p.person_id = pm.person_id
        LEFT JOIN risk r ON r.person_id = pm.person_id
        GROUP BY 1, 2, 3, 4, 5, 6, 7, 8"""


def user_cells_sql(inputs: Inputs, months: Sequence[dt.date]) -> str:
    """Clinician users and their activity per (month, organisation LSOA; NULL if none)."""
    month_rows = " UNION ALL ".join(f"SELECT '{m.strftime('%Y-%m')}' AS month" for m in months)
    logins = (f"SELECT user_id, CAST(month AS VARCHAR) AS month, sum(logins) AS logins "
              f"FROM {src('user_logins')} GROUP BY 1, 2" if inputs.has("user_logins")
              else "SELECT CAST(NULL AS VARCHAR) AS user_id, CAST(NULL AS VARCHAR) AS month, 0 AS logins "
                   "FROM src_users WHERE FALSE")
    lsoa = "u.lsoa_code" if inputs.has("users", "lsoa_code") else "CAST(NULL AS VARCHAR)"
    return f"""
        WITH months AS ({month_rows}),
        logins AS ({logins})
        SELECT m.month, {lsoa} AS lsoa_code, count(*) AS users,
               sum(CASE WHEN coalesce(l.logins, 0) >= 1 THEN 1 ELSE 0 END) AS active_users,
               sum(CASE WHEN coalesce(l.logins, 0) > 10 THEN 1 ELSE 0 END) AS active_users_10plus
        FROM {src('users')} u
        CROSS JOIN months m
        LEFT JOIN logins l ON l.user_id = u.user_id AND l.month = m.month
        GROUP BY 1, 2"""


# --------------------------------------------------------------------------- one finish for every engine


def finish(table: pa.Table | pd.DataFrame, keys: Sequence[str], measures: Sequence[str]) -> pd.DataFrame:
    """An engine's result as the cell table the metrics engine reads, identically for every engine.

    Text keys become categoricals. Exact DECIMAL sums become floats through one conversion (pyarrow's cast, then an exact division
    by their power of two); counts become float64 (whole numbers, exact below 2**53; NaN where the
    engine summed nothing); rows are sorted by their keys, so equal cells make equal frames.
    """
    if isinstance(table, pd.DataFrame):
        table = pa.Table.from_pandas(table, preserve_index=False)
    table = table.sort_by([(k, "ascending") for k in keys])  # Arrow: quick; nulls last by default
    columns: dict[str, object] = {}
    for name in keys:
        col = table.column(name)
        if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            # text keys as categoricals: England's 9.6 million person cells hold 33,755 LSOA codes, and
            # a Python string per row would cost about a gigabyte (the cells step's memory peak)
            col = col.combine_chunks().dictionary_encode()
        columns[name] = col.to_pandas()
    for name in measures:
        col = table.column(name)
        if name in SCALED_MEASURES:
            exact = col.cast(pa.decimal128(38, 0)) if not pa.types.is_decimal(col.type) else col
            values = exact.cast(pa.float64()).to_numpy(zero_copy_only=False)
            columns[name] = np.ldexp(values, -SCALED_MEASURES[name])
        else:
            columns[name] = col.cast(pa.float64()).to_numpy(zero_copy_only=False)
    out = pd.DataFrame(columns)
    for name in ("age_group",):
        if name in out:
            out[name] = pd.to_numeric(out[name]).astype("Int64")
    for name in ("disabled", "high_risk"):
        if name in out:
            out[name] = out[name].astype("boolean") if out[name].isna().any() else out[name].astype(bool)
    return out


def statements(inputs: Inputs, months: Sequence[dt.date], rule: tuple[float, str | None] | None
               ) -> dict[str, Callable[[], tuple[str, Sequence[str], Sequence[str]]]]:
    """Per cell table, a builder of its (SQL, keys, measures): what an engine running every table
    on one connection or session iterates over."""
    return {
        "person_cells": lambda: (person_cells_sql(inputs, rule), CELL_KEYS, PERSON_MEASURES),
        "plan_cells": lambda: (plan_cells_sql(inputs, months, rule), PLAN_KEYS, PLAN_MEASURES),
        "user_cells": lambda: (user_cells_sql(inputs, months), USER_KEYS, USER_MEASURES),
    }
