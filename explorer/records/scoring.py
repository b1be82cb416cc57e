"""Scoring people with the risk model inside the aggregation engine, instead of reading risk_scores.

The records layer does not know the model (it is in the domain, a layer above): it is handed an
:class:`InEngineScoring` - a picklable ``score(batch) -> (person_id, risk)`` (the domain's
``Scorer``, built from the model file's JSON) and the bundle's small ``lsoa_code -> imd_decile``
table. Each engine joins the people table to the deciles, applies ``score`` batch by batch where
the rows are (DuckDB here; Spark ``mapInPandas`` and Dask ``map_partitions`` in
:mod:`explorer.records.engines`) and registers the result as the ``src_risk_scores`` relation the
cell SQL of :mod:`explorer.records.cellsql` reads - so the cell definitions do not change, and
person rows never reach the driver.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pandas as pd
import pyarrow as pa

from explorer.records import cellsql

#: what a scorer hands back (float32, as the risk_scores table written by `explorer model train`)
SCORES_SCHEMA = pa.schema([pa.field("person_id", pa.string()), pa.field("risk", pa.float32())])
DECILES = "lsoa_deciles"
#: rows per batch handed to the scorer in DuckDB
BATCH_ROWS = 250_000


@dataclass(frozen=True)
class InEngineScoring:
    """How an engine scores people: ``score`` maps a pandas batch of the people ``columns`` plus
    ``imd_decile`` to (person_id, risk); ``deciles`` (lsoa_code, imd_decile) is broadcast to it."""

    score: Callable[[pd.DataFrame], pd.DataFrame]
    columns: tuple[str, ...]
    deciles: pd.DataFrame
    source: str = ""  # what the manifest records (the model file)
    model: dict | None = None  # and the model's identity (file, created_at, training data hash)

    def people_sql(self, people: str, deciles: str = DECILES) -> str:
        """People joined to their LSOA's decile (a LEFT join: an unknown LSOA reaches the scorer,
        which refuses it by name, rather than dropping the person silently)."""
        cols = ", ".join(f"p.{c}" for c in self.columns)
        return (f"SELECT {cols}, CAST(d.imd_decile AS BIGINT) AS imd_decile "
                f"FROM {people} p LEFT JOIN {deciles} d ON d.lsoa_code = p.lsoa_code")

    def batch(self, frame: pd.DataFrame) -> pd.DataFrame:
        """One batch scored, in the shape of :data:`SCORES_SCHEMA`."""
        out = self.score(frame)
        return pd.DataFrame({"person_id": out["person_id"].astype(str).to_numpy(),
                             "risk": out["risk"].to_numpy(dtype="float32")})

    def deciles_arrow(self) -> pa.Table:
        frame = self.deciles[["lsoa_code", "imd_decile"]]
        return pa.table({"lsoa_code": pa.array(frame["lsoa_code"].astype(str).to_numpy(), pa.string()),
                         "imd_decile": pa.array(frame["imd_decile"].to_numpy(dtype="int64"), pa.int64())})


def _scored_batches(reader: pa.RecordBatchReader, scoring: InEngineScoring) -> Iterator[pa.RecordBatch]:
    for batch in reader:
        if batch.num_rows:
            yield pa.RecordBatch.from_pandas(scoring.batch(batch.to_pandas()), schema=SCORES_SCHEMA,
                                             preserve_index=False)


def score_in_duckdb(con: Any, scoring: InEngineScoring) -> None:
    """Score ``src_people`` of ``con`` batch by batch into a DuckDB table, registered as
    ``src_risk_scores`` (stored in DuckDB, which spills past its memory limit, not in pandas)."""
    reader_con = con.cursor()  # a second connection to the same database streams the people
    try:
        reader_con.register(DECILES, scoring.deciles_arrow())
        people = reader_con.sql(scoring.people_sql(cellsql.src("people"))).fetch_record_batch(BATCH_ROWS)
        scored = pa.RecordBatchReader.from_batches(SCORES_SCHEMA, _scored_batches(people, scoring))
        con.register("scored_batches", scored)
        con.execute("CREATE OR REPLACE TABLE in_engine_scores AS SELECT * FROM scored_batches")
        con.unregister("scored_batches")
    finally:
        reader_con.close()
    con.execute(f"CREATE OR REPLACE VIEW {cellsql.src(cellsql.RISK_TABLE)} AS SELECT * FROM in_engine_scores")
