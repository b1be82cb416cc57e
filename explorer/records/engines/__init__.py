"""The aggregation step on three engines: DuckDB (one machine, the default), Spark and Dask.

:func:`aggregate_records` makes the cell tables of a records directory - ``person_cells``,
``plan_cells`` (per month end) and ``user_cells`` - with the engine named. All three run the one
definition in :mod:`explorer.records.cellsql` and finish through :func:`cellsql.finish`, so their
tables are equal cell for cell (tests/test_engines.py). Given an
:class:`~explorer.records.scoring.InEngineScoring`, each engine first scores the people with the
risk model where the rows are (DuckDB batches, Spark ``mapInPandas``, Dask ``map_partitions``) and
the cell SQL reads those scores instead of the risk_scores table. Spark and Dask are optional extras
(``pip install population-health-explorer[spark]`` / ``[dask]``); asking for one that is not
installed is an :class:`EngineMissingError` that says how to install it.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from explorer.errors import ExplorerError
from explorer.records import aggregate
from explorer.records.scoring import InEngineScoring

ENGINES = ("duckdb", "spark", "dask")
#: the import that proves an engine's extra is installed, and the extra's name
_EXTRAS = {"spark": ("pyspark", "spark"), "dask": ("distributed", "dask")}
CELL_TABLES = ("person_cells", "plan_cells", "user_cells")


class EngineMissingError(ExplorerError):
    """The engine asked for is unknown or its optional extra is not installed."""


def check_engine(engine: str) -> str:
    """``engine`` if it is known and installed, else an EngineMissingError saying what to do."""
    if engine not in ENGINES:
        raise EngineMissingError(f"unknown engine '{engine}': choose one of {', '.join(ENGINES)}")
    if engine in _EXTRAS:
        module, extra = _EXTRAS[engine]
        if importlib.util.find_spec(module) is None or importlib.util.find_spec("sqlglot") is None:
            raise EngineMissingError(
                f"the {engine} engine is not installed: pip install 'population-health-explorer[{extra}]'")
    return engine


def available_tables(directory: Path) -> tuple[str, ...]:
    """The cell tables the records in ``directory`` can make (people, plans and users each needed)."""
    directory = Path(directory)
    aggregate.require(directory, "people")
    out = ["person_cells"]
    if aggregate.has_table(directory, "plans"):
        out.append("plan_cells")
    if aggregate.has_table(directory, "users"):
        out.append("user_cells")
    return tuple(out)


def aggregate_records(directory: Path, months: Sequence[dt.date], risk: tuple[str, float] | None, *,
                      engine: str = "duckdb", scoring: InEngineScoring | None = None,
                      **options: Any) -> dict[str, pd.DataFrame]:
    """The cell tables of ``directory`` at these month ends under one risk definition (None: no
    flag), made by ``engine``. ``scoring``: score the people with the risk model inside the engine
    (:mod:`explorer.records.scoring`); None: read the risk_scores table. ``options``: ``threads``
    (duckdb), ``spark`` (a SparkSession), ``client`` / ``npartitions`` (dask). Only cells come
    back: person rows stay in the engine."""
    directory = Path(directory)
    check_engine(engine)
    tables = available_tables(directory)
    if risk is not None and scoring is None:
        aggregate.require(directory, aggregate.RISK_TABLE)
    months = tuple(months)
    if engine == "spark":
        from explorer.records.engines import _spark

        return _spark.run(directory, tables, months, risk, scoring=scoring, **options)
    if engine == "dask":
        from explorer.records.engines import _dask

        return _dask.run(directory, tables, months, risk, scoring=scoring, **options)
    threads = options.get("threads")
    if scoring is not None:
        return aggregate.cell_tables(directory, tables, months, risk, scoring, threads=threads)
    runs = {"person_cells": lambda: aggregate.person_cells(directory, risk, threads=threads),
            "plan_cells": lambda: aggregate.plan_cells(directory, months, risk, threads=threads),
            "user_cells": lambda: aggregate.user_cells(directory, months, threads=threads)}
    return {name: runs[name]() for name in tables}
