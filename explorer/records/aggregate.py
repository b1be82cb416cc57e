"""The one place that scans person-level records: DuckDB SQL over the Parquet parts, out come small
*cell* tables that the metrics engine filters and sums in memory.

Each query is plain ``SELECT ... JOIN ... GROUP BY`` over the record layouts of
:mod:`explorer.records.schema` (window functions only to pick one live plan per person and to rank
risk), so the same aggregation could run on Spark or Dask at national scale; the person-level
rows never reach pandas. Three outputs:

``person_cells``
    one row per (lsoa_code, age_group, sex, ethnic_group, frailty, disabled, high_risk) with
    ``people``, ``admitted_next_12m``, ``risk_sum``, ``risk_var`` (sum of p(1-p)). Attributes are
    as at the extract date (the people table is a single extract): the same people are the
    denominator at every snapshot month.
``plan_cells``
    one row per (month, same keys) with the plan measures at that month end: ``plans`` (people with
    a live plan), ``items_sum``/``items_sumsq`` (completeness items, per live plan),
    ``key_complete`` (all KEY_ITEMS), ``reviewed`` (latest review, or creation, within the review
    period), ``kc_reviewed``, ``kc_reviewed_viewed`` (the cascade), ``urgent_views`` (urgent care
    views in the 12 months to the month end), ``risk_with_plan``/``risk_var_with_plan``, and
    ``deaths``/``risk_of_deaths``/``risk_var_of_deaths`` (people known dead by the month end).
``user_cells``
    one row per (month, lsoa_code of the user's organisation) with ``users``, ``active_users``
    (>= 1 login in the month) and ``active_users_10plus`` (> 10 logins).

Definitions at a month end M (documented in the metric catalogue too):

* a plan is *live* when created_date <= M, closed_date is empty or after M, and status is not
  draft; a withdrawn/deceased plan with no closed_date is treated as closed at an unknown date
  (not live). A person with two live plans counts once (their latest).
* latest review = the latest of plan_reviews.review_date and plans.last_reviewed_date on or
  before M, or created_date if none; *reviewed in period* when latest review + review_period_months
  >= M (a plan reviewed on 2025-10-31 with a 12-month period is still in period on 2026-10-31).
* urgent care views: plan_views with service in URGENT_CARE_SERVICES and M - 12 months <
  view_date <= M, of any non-draft plan of the person.
* known deaths: a person whose plan closed with status "deceased" on or before M (and who has no
  live plan) is counted in ``deaths``, so the engine can take them out of the population at M
  (the people extract has no date of death; deaths of people without a plan stay unknown).
* plans whose person is not in the people table (e.g. moved away or died before the extract)
  are kept at the plan's LSOA with unknown attributes: they count when no person filter applies.
"""

from __future__ import annotations

import datetime as dt
import math
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from explorer.errors import DataMissingError
from explorer.records.schema import COMPLETENESS_ITEMS, KEY_ITEMS, URGENT_CARE_SERVICES

AGE_GROUP_STARTS: tuple[int, ...] = (0, 5, 10, 15, 16, *range(20, 95, 5))  # = metrics.AGE_GROUP_STARTS
CELL_KEYS = ("lsoa_code", "age_group", "sex", "ethnic_group", "frailty", "disabled", "high_risk")
RISK_TABLE = "risk_scores"
MANIFEST_FILE = "records_manifest.json"  # = explorer.records.store.MANIFEST_FILE


# --------------------------------------------------------------------------- locating tables


def records_directory(settings: Any, region: str) -> Path:
    """``<data_dir>/records/<region>`` (explorer.records.store decides)."""
    from explorer.records.store import records_dir

    return Path(records_dir(settings, region))


def table_glob(directory: Path, name: str) -> str:
    """The store's glob for the record layouts; ``<dir>/<name>/*.parquet`` for other tables (risk_scores)."""
    from explorer.records.schema import LAYOUTS

    if name in LAYOUTS:
        from explorer.records.store import table_glob as store_glob

        return str(store_glob(directory, name))
    return str(Path(directory) / name / "*.parquet")


def has_table(directory: Path, name: str) -> bool:
    """Whether the table can be read: record layouts through the store's resolver (the version its
    pointer names, so an orphan of a killed write does not count), other tables by their files."""
    from explorer.records.schema import LAYOUTS

    if name in LAYOUTS:
        from explorer.records.store import table_exists

        return table_exists(directory, name)
    folder = Path(directory) / name
    return folder.is_dir() and any(folder.rglob("*.parquet"))


def _require(directory: Path, *names: str) -> None:
    missing = [n for n in names if not has_table(directory, n)]
    if missing:
        raise DataMissingError(
            f"no {', '.join(missing)} records in {directory}: generate the synthetic demo records "
            "(`explorer data synth`) or import an extract for this region first"
        )


def _source(directory: Path, name: str) -> str:
    path = table_glob(directory, name).replace("'", "''")
    return f"read_parquet('{path}', union_by_name = true)"


def _columns(con: duckdb.DuckDBPyConnection, directory: Path, name: str) -> set[str]:
    return {row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {_source(directory, name)}").fetchall()}


#: DuckDB memory cap per aggregation (it spills to a temporary directory beyond it).
MEMORY_LIMIT = "2GB"


def _connect(threads: int | None = None) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:")
    con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
    spill = Path(tempfile.gettempdir()) / "explorer-duckdb"
    con.execute(f"SET temp_directory = '{str(spill).replace(chr(39), chr(39) * 2)}'")
    con.execute("SET preserve_insertion_order = false")
    con.execute("SET enable_progress_bar = false")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    return con


def _date_list(months: Sequence[dt.date]) -> str:
    if not months:
        raise ValueError("at least one month is needed")
    return ", ".join(f"(DATE '{m.isoformat()}')" for m in months)


def _sql_list(values: Sequence[str]) -> str:
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values)


# --------------------------------------------------------------------------- shared SQL pieces


def _age_group_sql(column: str) -> str:
    whens = " ".join(f"WHEN {column} >= {start} THEN {start}" for start in reversed(AGE_GROUP_STARTS))
    return f"CASE {whens} ELSE NULL END"


def _people_cte(con: duckdb.DuckDBPyConnection, directory: Path, persons: str | None = None) -> str:
    cols = _columns(con, directory, "people")
    admitted = "CAST(admitted_next_12m AS INTEGER)" if "admitted_next_12m" in cols else "CAST(NULL AS INTEGER)"
    keep = f" WHERE person_id IN (SELECT person_id FROM {persons})" if persons else ""
    return f"""people AS (
        SELECT person_id, lsoa_code, {_age_group_sql('age')} AS age_group, sex, ethnic_group, frailty,
               CAST(disabled AS BOOLEAN) AS disabled, {admitted} AS admitted_next_12m
        FROM {_source(directory, 'people')}{keep})"""


def _top_count(n: int, percent: float) -> int:
    """ceil(n x percent / 100), as explorer.domain.risk counts the top N%."""
    return min(n, math.ceil(n * percent / 100 - 1e-9))


def risk_rule(con: duckdb.DuckDBPyConnection, directory: Path, risk: tuple[str, float]
              ) -> tuple[float, str | None]:
    """(cut-off, last person_id at the cut-off) of a risk definition over the whole risk_scores table.

    ``min_probability`` p: everyone with risk >= p (no tie rule). ``top_percent`` X: exactly
    k = ceil(n x X / 100) people - the highest scores first, and among people tied at the cut-off
    the lowest person_ids first - the same people as ``ORDER BY risk DESC, person_id`` and as
    :func:`explorer.domain.risk.flag_high_risk`. Found with top-k scans, not a full sort.
    """
    kind, value = risk
    if kind == "min_probability":
        return float(value), None
    source = (f"(SELECT person_id, CAST(risk AS DOUBLE) AS r FROM {_source(directory, RISK_TABLE)} "
              "WHERE risk IS NOT NULL)")
    n = int(con.execute(f"SELECT count(*) FROM {source}").fetchone()[0])
    k = _top_count(n, float(value))
    if k == 0:
        return float("inf"), None
    cut = float(con.execute(f"SELECT r FROM {source} ORDER BY r DESC LIMIT 1 OFFSET {k - 1}").fetchone()[0])
    above, tied = con.execute(f"SELECT count(*) FILTER (WHERE r > ?), count(*) FILTER (WHERE r = ?) FROM {source}",
                              [cut, cut]).fetchone()
    need = k - int(above)
    if need >= int(tied):
        return cut, None
    last = con.execute(f"SELECT max(person_id) FROM (SELECT person_id FROM {source} WHERE r = ? "
                       f"ORDER BY person_id LIMIT {need})", [cut]).fetchone()[0]
    return cut, str(last)


def _risk_cte(con: duckdb.DuckDBPyConnection, directory: Path, risk: tuple[str, float] | None,
              persons: str | None = None) -> str:
    """risk(person_id, risk, high_risk); empty without a definition. ``persons``: a CTE of person_ids
    to keep (a semi-join, so the scores of people without plans are not carried along)."""
    if risk is None:
        return ("risk AS (SELECT CAST(NULL AS VARCHAR) AS person_id, CAST(NULL AS DOUBLE) AS risk, "
                "FALSE AS high_risk WHERE FALSE)")
    cut, last = risk_rule(con, directory, risk)
    cut_sql = "'Infinity'::DOUBLE" if math.isinf(cut) else repr(cut)
    tie = "" if last is None else f" AND person_id <= '{last.replace(chr(39), chr(39) * 2)}'"
    keep = f" AND person_id IN (SELECT person_id FROM {persons})" if persons else ""
    return f"""risk AS (
        SELECT person_id, CAST(risk AS DOUBLE) AS risk,
               CAST(risk AS DOUBLE) > {cut_sql} OR (CAST(risk AS DOUBLE) = {cut_sql}{tie}) AS high_risk
        FROM {_source(directory, RISK_TABLE)} WHERE risk IS NOT NULL{keep})"""


def _key_select(lsoa: str = "p.lsoa_code") -> str:
    return (f"{lsoa} AS lsoa_code, p.age_group, p.sex, p.ethnic_group, p.frailty, p.disabled, "
            "coalesce(r.high_risk, FALSE) AS high_risk")


_KEY_GROUP = "1, 2, 3, 4, 5, 6, 7"


# --------------------------------------------------------------------------- the three aggregates


def person_cells(directory: Path, risk: tuple[str, float] | None = None, *, threads: int | None = None
                 ) -> pd.DataFrame:
    """People per cell (see module docstring); ``risk`` = (kind, value) of a RiskDefinition or None."""
    directory = Path(directory)
    _require(directory, "people")
    if risk is not None:
        _require(directory, RISK_TABLE)
    con = _connect(threads)
    try:
        sql = f"""
        WITH {_people_cte(con, directory)},
        {_risk_cte(con, directory, risk)}
        SELECT {_key_select()},
               count(*) AS people,
               sum(p.admitted_next_12m) AS admitted_next_12m,
               sum(r.risk) AS risk_sum,
               sum(r.risk * (1 - r.risk)) AS risk_var
        FROM people p LEFT JOIN risk r ON r.person_id = p.person_id
        GROUP BY {_KEY_GROUP}"""
        return con.execute(sql).df()
    finally:
        con.close()


def plan_cells(directory: Path, months: Sequence[dt.date], risk: tuple[str, float] | None = None, *,
               threads: int | None = None) -> pd.DataFrame:
    """Plan measures per (month, cell) at each month end in ``months`` (dates, month ends)."""
    directory = Path(directory)
    _require(directory, "people", "plans")
    if risk is not None:
        _require(directory, RISK_TABLE)
    con = _connect(threads)
    try:
        plan_cols = _columns(con, directory, "plans")
        last_reviewed = ("CAST(last_reviewed_date AS DATE)" if "last_reviewed_date" in plan_cols
                         else "CAST(NULL AS DATE)")
        closed = "CAST(closed_date AS DATE)" if "closed_date" in plan_cols else "CAST(NULL AS DATE)"
        items = " + ".join(f"CAST(coalesce(CAST({c} AS BOOLEAN), FALSE) AS INTEGER)" for c in COMPLETENESS_ITEMS)
        key = " AND ".join(f"coalesce(CAST({c} AS BOOLEAN), FALSE)" for c in KEY_ITEMS)
        reviews = (f"SELECT plan_id, CAST(review_date AS DATE) AS review_date FROM {_source(directory, 'plan_reviews')}"
                   " UNION ALL " if has_table(directory, "plan_reviews") else "")
        views = (f"""person_views AS (
            SELECT m.month_end, pl.person_id, min(pl.lsoa_code) AS plan_lsoa, count(*) AS urgent_views
            FROM {_source(directory, 'plan_views')} v
            JOIN plans pl ON pl.plan_id = v.plan_id
            JOIN months m ON CAST(v.view_date AS DATE) <= m.month_end
                         AND CAST(v.view_date AS DATE) > m.month_end - INTERVAL 12 MONTH
            WHERE v.service IN ({_sql_list(URGENT_CARE_SERVICES)})
            GROUP BY m.month_end, pl.person_id)""" if has_table(directory, "plan_views") else
                 """person_views AS (SELECT CAST(NULL AS DATE) AS month_end, CAST(NULL AS VARCHAR) AS person_id,
                    CAST(NULL AS VARCHAR) AS plan_lsoa, CAST(0 AS BIGINT) AS urgent_views WHERE FALSE)""")
        sql = f"""
        WITH months(month_end) AS (VALUES {_date_list(months)}),
        plan_persons AS (SELECT DISTINCT person_id FROM {_source(directory, 'plans')}),
        {_people_cte(con, directory, 'plan_persons')},
        {_risk_cte(con, directory, risk, 'plan_persons')},
        plans AS (
            SELECT plan_id, person_id, lsoa_code, CAST(created_date AS DATE) AS created_date, {closed} AS closed_date,
                   status, review_period_months, {last_reviewed} AS last_reviewed_date,
                   {items} AS items, {key} AS key_complete
            FROM {_source(directory, 'plans')}
            WHERE status <> 'draft'),
        live AS (
            SELECT m.month_end, pl.*,
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
                   coalesce(greatest(coalesce(lr.review_date, l.created_date), l.created_date)
                            + to_months(CAST(l.review_period_months AS INTEGER)) >= l.month_end, FALSE) AS reviewed
            FROM live l LEFT JOIN last_review lr ON lr.month_end = l.month_end AND lr.plan_id = l.plan_id
            WHERE l.nth = 1),
        {views},
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
               sum(CASE WHEN pm.has_plan THEN r.risk END) AS risk_with_plan,
               sum(CASE WHEN pm.has_plan THEN r.risk * (1 - r.risk) END) AS risk_var_with_plan,
               sum(CASE WHEN pm.died AND p.person_id IS NOT NULL THEN 1 ELSE 0 END) AS deaths,
               sum(CASE WHEN pm.died THEN r.risk END) AS risk_of_deaths,
               sum(CASE WHEN pm.died THEN r.risk * (1 - r.risk) END) AS risk_var_of_deaths
        FROM person_month pm
        LEFT JOIN people p ON p.person_id = pm.person_id
        LEFT JOIN risk r ON r.person_id = pm.person_id
        GROUP BY 1, 2, 3, 4, 5, 6, 7, 8"""
        return con.execute(sql).df()
    finally:
        con.close()


def user_cells(directory: Path, months: Sequence[dt.date], *, threads: int | None = None) -> pd.DataFrame:
    """Clinician users and their activity per (month, organisation LSOA; NULL if none)."""
    directory = Path(directory)
    _require(directory, "users")
    con = _connect(threads)
    try:
        month_values = ", ".join(f"('{m.strftime('%Y-%m')}')" for m in months)
        logins = (f"SELECT user_id, CAST(month AS VARCHAR) AS month, sum(logins) AS logins "
                  f"FROM {_source(directory, 'user_logins')} GROUP BY 1, 2" if has_table(directory, "user_logins")
                  else "SELECT CAST(NULL AS VARCHAR) AS user_id, CAST(NULL AS VARCHAR) AS month, 0 AS logins "
                       "WHERE FALSE")
        lsoa = "u.lsoa_code" if "lsoa_code" in _columns(con, directory, "users") else "CAST(NULL AS VARCHAR)"
        sql = f"""
        WITH months(month) AS (VALUES {month_values}),
        logins AS ({logins})
        SELECT m.month, {lsoa} AS lsoa_code, count(*) AS users,
               sum(CASE WHEN coalesce(l.logins, 0) >= 1 THEN 1 ELSE 0 END) AS active_users,
               sum(CASE WHEN coalesce(l.logins, 0) > 10 THEN 1 ELSE 0 END) AS active_users_10plus
        FROM {_source(directory, 'users')} u
        CROSS JOIN months m
        LEFT JOIN logins l ON l.user_id = u.user_id AND l.month = m.month
        GROUP BY 1, 2"""
        return con.execute(sql).df()
    finally:
        con.close()
