"""The one place that scans person-level records: DuckDB SQL over the Parquet parts, out come small
*cell* tables that the metrics engine filters and sums in memory.

The statements themselves are defined once in :mod:`explorer.records.cellsql` (plain ``SELECT ...
JOIN ... GROUP BY`` over the record layouts of :mod:`explorer.records.schema`; window functions only
to pick one live plan per person); this module runs them in DuckDB over the Parquet parts, and
:mod:`explorer.records.engines` runs the same text on Spark and Dask. The person-level rows never
reach pandas. Three outputs:

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
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from explorer.errors import DataMissingError
from explorer.records import cellsql
from explorer.records.cellsql import AGE_GROUP_STARTS, CELL_KEYS, RISK_TABLE, Inputs

__all__ = ["AGE_GROUP_STARTS", "CELL_KEYS", "MANIFEST_FILE", "RISK_TABLE", "has_table", "person_cells",
           "plan_cells", "records_directory", "risk_rule", "table_glob", "user_cells"]

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


def require(directory: Path, *names: str) -> None:
    """DataMissingError naming the tables of ``names`` that cannot be read."""
    missing = [n for n in names if not has_table(directory, n)]
    if missing:
        raise DataMissingError(
            f"no {', '.join(missing)} records in {directory}: generate the synthetic demo records "
            "(`explorer data synth`) or import an extract for this region first"
        )


def _source(directory: Path, name: str) -> str:
    path = table_glob(directory, name).replace("'", "''")
    return f"read_parquet('{path}', union_by_name = true)"


#: DuckDB memory cap per aggregation (it spills to a temporary directory beyond it).
MEMORY_LIMIT = "2GB"
#: add_months as Spark has it (end-of-month clamped), so the cell SQL reads the same in both
ADD_MONTHS_MACRO = ("CREATE OR REPLACE MACRO add_months(d, n) AS "
                    "CAST(CAST(d AS DATE) + to_months(CAST(n AS INTEGER)) AS DATE)")


def _connect(threads: int | None = None, memory_limit: str = MEMORY_LIMIT) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:")
    con.execute(f"SET memory_limit = '{memory_limit}'")
    spill = Path(tempfile.gettempdir()) / "explorer-duckdb"
    con.execute(f"SET temp_directory = '{str(spill).replace(chr(39), chr(39) * 2)}'")
    con.execute("SET preserve_insertion_order = false")
    con.execute("SET enable_progress_bar = false")
    con.execute(ADD_MONTHS_MACRO)
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    return con


def connect_records(directory: Path, threads: int | None = None) -> tuple[duckdb.DuckDBPyConnection, Inputs]:
    """A connection with every table of ``directory`` as a view ``src_<table>``, and its Inputs."""
    con = _connect(threads)
    columns = {}
    for name in (*cellsql.PERSON_TABLES, *cellsql.USER_TABLES):
        if has_table(directory, name):
            con.execute(f"CREATE VIEW {cellsql.src(name)} AS SELECT * FROM {_source(directory, name)}")
            columns[name] = frozenset(r[0] for r in con.execute(f"DESCRIBE {cellsql.src(name)}").fetchall())
    return con, Inputs(columns)


def scores(con: duckdb.DuckDBPyConnection) -> cellsql.SqlScores:
    """The risk rule's order statistics by SQL on this connection."""
    return cellsql.SqlScores(lambda sql: con.execute(sql).fetchall()[0])


def risk_rule(con: duckdb.DuckDBPyConnection, directory: Path, risk: tuple[str, float]
              ) -> tuple[float, str | None]:
    """The risk definition's (cut-off, last tied id): :func:`explorer.records.cellsql.risk_rule`
    over ``directory``'s risk_scores."""
    con.execute(f"CREATE OR REPLACE VIEW {cellsql.src(RISK_TABLE)} AS SELECT * FROM {_source(directory, RISK_TABLE)}")
    return cellsql.risk_rule(scores(con), risk)


def arrow(con: duckdb.DuckDBPyConnection, sql: str) -> Any:
    """The result of one statement as an Arrow table (DECIMAL sums stay exact)."""
    return con.sql(sql).to_arrow_table()


def _run(directory: Path, needs: Sequence[str], risk: tuple[str, float] | None, threads: int | None,
         build: Any) -> pd.DataFrame:
    directory = Path(directory)
    require(directory, *needs, *([RISK_TABLE] if risk is not None else []))
    con, inputs = connect_records(directory, threads)
    try:
        rule = None if risk is None else cellsql.risk_rule(scores(con), risk)
        return build(con, inputs, rule)
    finally:
        con.close()


# --------------------------------------------------------------------------- the three aggregates


def person_cells(directory: Path, risk: tuple[str, float] | None = None, *, threads: int | None = None
                 ) -> pd.DataFrame:
    """People per cell (see module docstring); ``risk`` = (kind, value) of a RiskDefinition or None."""
    return _run(directory, ["people"], risk, threads, lambda con, inputs, rule: cellsql.finish(
        arrow(con, cellsql.person_cells_sql(inputs, rule)), CELL_KEYS, cellsql.PERSON_MEASURES))


def plan_cells(directory: Path, months: Sequence[dt.date], risk: tuple[str, float] | None = None, *,
               threads: int | None = None) -> pd.DataFrame:
    """Plan measures per (month, cell) at each month end in ``months`` (dates, month ends)."""
    return _run(directory, ["people", "plans"], risk, threads, lambda con, inputs, rule: cellsql.finish(
        arrow(con, cellsql.plan_cells_sql(inputs, months, rule)), cellsql.PLAN_KEYS,
        cellsql.PLAN_MEASURES))


def user_cells(directory: Path, months: Sequence[dt.date], *, threads: int | None = None) -> pd.DataFrame:
    """Clinician users and their activity per (month, organisation LSOA; NULL if none)."""
    return _run(directory, ["users"], None, threads, lambda con, inputs, rule: cellsql.finish(
        arrow(con, cellsql.user_cells_sql(inputs, months)), cellsql.USER_KEYS, cellsql.USER_MEASURES))


def cell_tables(directory: Path, tables: Sequence[str], months: Sequence[dt.date], risk: tuple[str, float] | None,
                scoring: Any, *, threads: int | None = None) -> dict[str, pd.DataFrame]:
    """The cell tables named in ``tables`` on one connection, people scored in DuckDB first by
    ``scoring`` (an :class:`explorer.records.scoring.InEngineScoring`) instead of read from
    risk_scores: the scores are made once and every statement reads them."""
    from explorer.records.scoring import score_in_duckdb

    directory = Path(directory)
    require(directory, "people")
    con, inputs = connect_records(directory, threads)
    try:
        score_in_duckdb(con, scoring)
        inputs = Inputs({**inputs.columns, RISK_TABLE: frozenset({"person_id", "risk"})})
        rule = None if risk is None else cellsql.risk_rule(scores(con), risk)
        builds = cellsql.statements(inputs, months, rule)
        out = {}
        for name in tables:
            sql, keys, measures = builds[name]()
            out[name] = cellsql.finish(arrow(con, sql), keys, measures)
        return out
    finally:
        con.close()
