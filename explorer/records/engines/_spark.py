"""The cell tables on Spark: the same SQL text, transpiled from DuckDB's dialect to Spark SQL.

Each table of the records directory becomes a temporary view ``src_<table>`` over its Parquet
parts (``spark.read.parquet``: on Databricks or an SDE cluster this reads from wherever the
records live), :mod:`explorer.records.cellsql` builds the statements, sqlglot translates them, and
only the aggregated cells are collected to the driver (``toPandas`` of a GROUP BY result).
"""

from __future__ import annotations

import datetime as dt
import glob
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import sqlglot

from explorer.records import aggregate, cellsql
from explorer.records.scoring import InEngineScoring

#: local-mode settings when no session is given (tests, one machine); an SDE passes its own session
LOCAL_CONFIG = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "8",
    "spark.sql.session.timeZone": "UTC",
    "spark.driver.memory": "2g",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
}


def local_session(cores: int = 2) -> Any:
    """A local-mode SparkSession (reused if one is running)."""
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.master(f"local[{cores}]").appName("explorer-aggregate")
    for key, value in LOCAL_CONFIG.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


def session() -> Any:
    """The running session (a Databricks notebook's ``spark``), else the one ``spark-submit`` set up
    (its master and settings kept), else a local-mode session."""
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    if "PYSPARK_GATEWAY_PORT" in os.environ:  # launched by spark-submit: its --master and --conf apply
        return SparkSession.builder.appName("explorer-aggregate").getOrCreate()
    return local_session()


def to_spark(sql: str) -> str:
    """One statement of the cell SQL in Spark's dialect."""
    return sqlglot.transpile(sql, read="duckdb", write="spark")[0]


def register(spark: Any, directory: Path) -> cellsql.Inputs:
    """Every table of ``directory`` as a temporary view ``src_<table>``; their columns."""
    columns = {}
    for name in (*cellsql.PERSON_TABLES, *cellsql.USER_TABLES):
        if aggregate.has_table(directory, name):
            files = sorted(glob.glob(aggregate.table_glob(directory, name)))  # a list: no glob warnings
            frame = spark.read.option("mergeSchema", "true").parquet(*files)
            frame.createOrReplaceTempView(cellsql.src(name))
            columns[name] = frozenset(frame.columns)
    return cellsql.Inputs(columns)


def scored(spark: Any, scoring: InEngineScoring) -> Any:
    """People scored on the executors: ``src_people`` joined to the broadcast LSOA deciles, then
    ``mapInPandas`` with the scorer (its model JSON shipped to the executors); (person_id, risk)."""
    from pyspark.sql import functions as F  # noqa: N812 - pyspark's convention

    deciles = spark.createDataFrame(scoring.deciles_arrow().to_pandas())
    people = spark.table(cellsql.src("people")).select(*scoring.columns).join(
        F.broadcast(deciles), "lsoa_code", "left")
    batch = scoring.batch

    def score(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for frame in batches:
            yield batch(frame)

    return people.mapInPandas(score, schema="person_id string, risk float")


def run(directory: Path, tables: Sequence[str], months: Sequence[dt.date], risk: tuple[str, float] | None,
        *, spark: Any = None, scoring: InEngineScoring | None = None) -> dict[str, pd.DataFrame]:
    """The cell tables named in ``tables`` (see :func:`explorer.records.engines.aggregate_records`)."""
    spark = spark or session()
    inputs = register(spark, Path(directory))
    scores = None
    if scoring is not None:  # scored once, kept on the executors (memory, then disk) for every statement
        scores = scored(spark, scoring).persist()
        scores.createOrReplaceTempView(cellsql.src(cellsql.RISK_TABLE))
        inputs = cellsql.Inputs({**inputs.columns, cellsql.RISK_TABLE: frozenset(scores.columns)})

    def query(sql: str) -> Any:
        return spark.sql(to_spark(sql))

    try:
        rule = None if risk is None else cellsql.risk_rule(
            cellsql.SqlScores(lambda sql: tuple(query(sql).collect()[0])), risk)
        builds = cellsql.statements(inputs, months, rule)
        out = {}
        for name in tables:
            sql, keys, measures = builds[name]()
            out[name] = cellsql.finish(query(sql).toPandas(), keys, measures)  # cells only, never person rows
        return out
    finally:
        if scores is not None:
            scores.unpersist()
