"""The cell tables on Dask: the same SQL per partition of people, then an exact sum of the partials.

Every person-level table is split into ``n`` buckets by a hash of ``person_id`` (the review and
view tables take the bucket of their plan's person, by a Dask merge on ``plan_id``) and shuffled
so that bucket ``i`` of every table is partition ``i`` (``set_index`` on the bucket with divisions
0..n). All rows of a person are then in one partition, so the window functions and joins of
:mod:`explorer.records.cellsql` run per partition unchanged, in an in-process DuckDB over that
partition only. The partial cells are summed with a Dask groupby-sum: every measure is a count or
an exact DECIMAL sum, so the result equals a single pass cell for cell. Clinician users are
bucketed by ``user_id`` the same way. Only the summed cells are computed to the driver; the risk
rule's order statistics come from Dask reductions (:class:`DaskScores`). With a model, people are
scored on the workers (:func:`scored`, ``map_partitions``) and the scores persisted there.
"""

from __future__ import annotations

import datetime as dt
import glob
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from explorer.records import aggregate, cellsql
from explorer.records.scoring import InEngineScoring

BUCKET = "_bucket"


def _dd() -> Any:
    import dask.dataframe as dd

    return dd


def local_client(workers: int = 1, threads: int = 2) -> Any:
    """An in-process distributed cluster (tests, one machine); an SDE passes its own Client."""
    from distributed import Client, LocalCluster

    logging.getLogger("distributed.shuffle._scheduler_plugin").setLevel(logging.ERROR)  # per-shuffle chatter

    cluster = LocalCluster(n_workers=workers, threads_per_worker=threads, processes=False,
                           dashboard_address=":0")  # any free port: no clash
    return Client(cluster)


def _read(directory: Path, name: str) -> Any:
    files = sorted(glob.glob(aggregate.table_glob(directory, name)))
    return _dd().read_parquet(files, dtype_backend="pyarrow")


def _add_bucket(frame: pd.DataFrame, column: str, n: int) -> pd.DataFrame:
    hashed = pd.util.hash_array(frame[column].astype(object).to_numpy())
    return frame.assign(**{BUCKET: (hashed % n).astype("int64")})


def _bucketed(frame: Any, n: int) -> Any:
    """Partition ``i`` holds bucket ``i`` exactly (known divisions 0..n)."""
    return frame.set_index(BUCKET, divisions=list(range(n + 1)))


def _score_partition(people: pd.DataFrame, scoring: InEngineScoring) -> pd.DataFrame:
    """One partition of people joined to the LSOA deciles and scored (on the worker)."""
    deciles = scoring.deciles_arrow().to_pandas()
    frame = people[list(scoring.columns)].astype({"lsoa_code": str}).merge(deciles, on="lsoa_code", how="left")
    return scoring.batch(frame)


def scored(directory: Path, scoring: InEngineScoring) -> Any:
    """People scored on the workers, partition by partition (``map_partitions``); (person_id, risk)."""
    people = _read(directory, "people")
    meta = pd.DataFrame({"person_id": pd.Series(dtype=object), "risk": pd.Series(dtype="float32")})
    return people.map_partitions(_score_partition, scoring, meta=meta)


def _person_tables(directory: Path, n: int, scores: Any = None) -> dict[str, Any]:
    frames = {name: _read(directory, name) for name in cellsql.PERSON_TABLES if aggregate.has_table(directory, name)}
    if scores is not None:
        frames[cellsql.RISK_TABLE] = scores
    out = {}
    for name in ("people", "plans", cellsql.RISK_TABLE):
        if name in frames:
            out[name] = frames[name].map_partitions(_add_bucket, "person_id", n)
    for name in ("plan_reviews", "plan_views"):
        if name in frames and "plans" in out:  # a review or view goes with its plan's person
            out[name] = frames[name].merge(out["plans"][["plan_id", BUCKET]], on="plan_id", how="inner")
    return {name: _bucketed(frame, n) for name, frame in out.items()}


def _user_tables(directory: Path, n: int) -> dict[str, Any]:
    return {name: _bucketed(_read(directory, name).map_partitions(_add_bucket, "user_id", n), n)
            for name in cellsql.USER_TABLES if aggregate.has_table(directory, name)}


def _partial(sql: str, names: Sequence[str], *frames: pd.DataFrame) -> pd.DataFrame:
    """One partition's cells: the cell SQL in DuckDB over this partition's rows only."""
    con = aggregate._connect(threads=1)
    try:
        for name, frame in zip(names, frames, strict=True):
            con.register(cellsql.src(name), pa.Table.from_pandas(frame.reset_index(drop=True), preserve_index=False))
        return aggregate.arrow(con, sql).to_pandas(types_mapper=pd.ArrowDtype)
    finally:
        con.close()


def _cells(tables: dict[str, Any], sql: str, keys: Sequence[str], measures: Sequence[str]) -> pd.DataFrame:
    names = list(tables)
    frames = [tables[name] for name in names]
    meta = _partial(sql, names, *[f._meta for f in frames])
    partials = _dd().map_partitions(_partial, sql, names, *frames, meta=meta, align_dataframes=False)
    summed = partials.groupby(list(keys), dropna=False).sum(min_count=1)
    return cellsql.finish(summed.compute().reset_index(), keys, measures)  # cells only


def _inputs(tables: dict[str, Any]) -> cellsql.Inputs:
    return cellsql.Inputs({name: frozenset(frame.columns) for name, frame in tables.items()})


@dataclass(frozen=True)
class DaskScores:
    """The risk rule's order statistics by Dask reductions: only scalars reach the driver."""

    scores: Any  # person_id, r (non-null risk)

    def count(self) -> int:
        return int(self.scores.shape[0].compute())

    def kth_largest(self, k: int) -> float:
        return float(self.scores["r"].nlargest(k).min().compute())

    def above_and_tied(self, cut: float) -> tuple[int, int]:
        import dask

        above, tied = dask.compute((self.scores["r"] > cut).sum(), (self.scores["r"] == cut).sum())
        return int(above), int(tied)

    def nth_tied_id(self, cut: float, n: int) -> str:
        ids = self.scores[self.scores["r"] == cut]["person_id"].astype(str)
        return str(ids.reduction(chunk=_lowest, combine=_lowest, aggregate=_nth, chunk_kwargs={"n": n},
                                 combine_kwargs={"n": n}, aggregate_kwargs={"n": n},
                                 meta=("person_id", "object")).compute())


def _values(part: pd.Series | pd.DataFrame) -> pd.Series:
    """Dask hands a reduction's chunks back as the rows of a frame: the values, flat."""
    return part.stack().reset_index(drop=True) if isinstance(part, pd.DataFrame) else part


def _lowest(part: pd.Series | pd.DataFrame, n: int) -> pd.Series:
    return _values(part).sort_values().iloc[:n].reset_index(drop=True)


def _nth(part: pd.Series | pd.DataFrame, n: int) -> str:
    return _values(part).sort_values().iloc[n - 1]


def _scores(frame: Any) -> DaskScores:
    frame = frame[frame["risk"].notnull()][["person_id", "risk"]].rename(columns={"risk": "r"})
    return DaskScores(frame.assign(r=frame["r"].astype("float64[pyarrow]")))


def run(directory: Path, tables: Sequence[str], months: Sequence[dt.date], risk: tuple[str, float] | None,
        *, client: Any = None, npartitions: int | None = None, scoring: InEngineScoring | None = None
        ) -> dict[str, pd.DataFrame]:
    """The cell tables named in ``tables`` (see :func:`explorer.records.engines.aggregate_records`).
    ``npartitions``: person buckets (default: the people table's partitions, at least 2)."""
    directory = Path(directory)
    own = client is None
    client = local_client() if own else client
    try:
        n = npartitions or max(2, _read(directory, "people").npartitions)
        scores = None if scoring is None else scored(directory, scoring).persist()  # once, on the workers
        source = scores if scores is not None else _read(directory, cellsql.RISK_TABLE) if risk is not None else None
        rule = None if risk is None else cellsql.risk_rule(_scores(source), risk)
        out = {}
        if "person_cells" in tables or "plan_cells" in tables:
            person = _person_tables(directory, n, scores)
            inputs = _inputs(person)
            if "person_cells" in tables:
                out["person_cells"] = _cells(person, cellsql.person_cells_sql(inputs, rule), cellsql.CELL_KEYS,
                                             cellsql.PERSON_MEASURES)
            if "plan_cells" in tables:
                out["plan_cells"] = _cells(person, cellsql.plan_cells_sql(inputs, months, rule), cellsql.PLAN_KEYS,
                                           cellsql.PLAN_MEASURES)
        if "user_cells" in tables:
            users = _user_tables(directory, n)
            out["user_cells"] = _cells(users, cellsql.user_cells_sql(_inputs(users), months), cellsql.USER_KEYS,
                                       cellsql.USER_MEASURES)
        return out
    finally:
        if own:
            client.close()
            client.cluster.close()
