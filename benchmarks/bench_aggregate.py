"""The aggregation step on DuckDB, Spark and Dask side by side: time, rows per second, peak memory.

Each engine runs `explorer.records.engines.aggregate_records` over the same records directory (by
default the synthetic London records of $EXPLORER_DATA_DIR: 8.8 million people), for the whole
history (24 month ends) at the default risk definition, in a fresh subprocess. Peak memory is the
largest resident memory of that subprocess and all its children together (Spark's JVM is a child
of the Python driver), sampled every 0.2 s with psutil. The cell tables of every engine are
compared with DuckDB's, cell for cell.

Usage: python benchmarks/bench_aggregate.py [--records DIR] [--engines duckdb,spark,dask] [--months 24]
    [--model FILE [--region R]] [--results FILE]
With --model, people are scored in the engine with that model JSON (deciles from the region's
bundle) instead of read from risk_scores. Writes benchmarks/results/aggregate.json (or --results)
and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

RESULTS = Path(__file__).parent / "results" / "aggregate.json"

RUN = """
import datetime as dt, json, sys, time
from pathlib import Path
from explorer.domain.metrics import DEFAULT_RISK, month_ends, risk_key
from explorer.records import cellstore
from explorer.records.engines import aggregate_records
engine, records, months, out = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4])
options = {}
if len(sys.argv) > 5:  # score in the engine with this model and the region's bundle deciles
    from explorer.bundle.store import load_bundle
    from explorer.config import load_settings
    from explorer.services.cells import model_scoring
    options["scoring"] = model_scoring(Path(sys.argv[5]), load_bundle(load_settings(), sys.argv[6]).lsoas)
if engine == "spark":
    from explorer.records.engines._spark import local_session
    options["spark"] = local_session(cores=2)
if engine == "dask":
    from explorer.records.engines._dask import local_client
    options["client"] = local_client(workers=1, threads=2)
started = time.perf_counter()
cells = aggregate_records(records, month_ends(dt.date(2026, 10, 31), months), risk_key(DEFAULT_RISK),
                          engine=engine, **options)
seconds = time.perf_counter() - started
cellstore.write_cells(out, cells, {"engine": engine})
print(json.dumps({"seconds": seconds, "cells": {k: len(v) for k, v in cells.items()}}))
"""


def input_rows(records: Path) -> int:
    """Rows the aggregation reads: every table's Parquet row counts."""
    import pyarrow.parquet as pq

    from explorer.records import aggregate, cellsql

    total = 0
    for name in (*cellsql.PERSON_TABLES, *cellsql.USER_TABLES):
        if aggregate.has_table(records, name):
            import glob
            total += sum(pq.ParquetFile(f).metadata.num_rows for f in glob.glob(aggregate.table_glob(records, name)))
    return total


def run(engine: str, records: Path, months: int, out: Path, model: Path | None = None, region: str = "london"
        ) -> dict:
    """One engine in a subprocess; its peak resident memory with its children (the JVM)."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    scoring = [str(model), region] if model else []
    proc = subprocess.Popen([sys.executable, "-c", RUN, engine, str(records), str(months), str(out), *scoring],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    parent, peak = psutil.Process(proc.pid), 0
    started = time.perf_counter()
    while proc.poll() is None:
        try:
            tree = [parent, *parent.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
        except psutil.Error:
            pass
        time.sleep(0.2)
    wall = time.perf_counter() - started
    output = proc.stdout.read().strip().splitlines()
    if proc.returncode != 0 or not output:
        return {"engine": engine, "error": f"exit code {proc.returncode}"}
    result = json.loads(output[-1])
    return {"engine": engine, "seconds": round(result["seconds"], 1), "wall_seconds": round(wall, 1),
            "peak_mb": round(peak / 2**20), "cells": result["cells"]}


def same_cells(a: Path, b: Path) -> bool:
    import pandas as pd

    from explorer.records import cellstore

    for name in ("person_cells", "plan_cells", "user_cells"):
        try:
            pd.testing.assert_frame_equal(cellstore.read_cells(a, name), cellstore.read_cells(b, name), check_exact=True)
        except AssertionError:
            return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = Path(os.environ.get("EXPLORER_DATA_DIR", "/work/devdata")) / "records" / "london"
    parser.add_argument("--records", type=Path, default=default)
    parser.add_argument("--engines", default="duckdb,spark,dask")
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--model", type=Path, help="score people in the engine with this model JSON "
                        "(default: read the risk_scores table)")
    parser.add_argument("--region", default="london", help="whose bundle gives the IMD deciles (with --model)")
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args()
    rows = input_rows(args.records)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for engine in args.engines.split(","):
            result = run(engine, args.records, args.months, Path(tmp) / engine, args.model, args.region)
            if "seconds" in result:
                result["rows_per_second"] = round(rows / result["seconds"])
                if engine != "duckdb" and (Path(tmp) / "duckdb").exists():
                    result["equal_to_duckdb"] = same_cells(Path(tmp) / "duckdb", Path(tmp) / engine)
            results.append(result)
            print(json.dumps(result), flush=True)
    report = {"records": str(args.records), "input_rows": rows, "months": args.months, "cores": os.cpu_count(),
              "scored_in_engine_with": str(args.model) if args.model else None, "results": results}
    args.results.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\n{rows:,} input rows, {args.months} month ends, {os.cpu_count()} cores\n")
    print("| engine | seconds | rows/s | peak memory (MB, incl. JVM) | equal to DuckDB |")
    print("|---|---|---|---|---|")
    for r in results:
        if "seconds" in r:
            print(f"| {r['engine']} | {r['seconds']} | {r['rows_per_second']:,} | {r['peak_mb']:,} | "
                  f"{r.get('equal_to_duckdb', '-')} |")
        else:
            print(f"| {r['engine']} | failed: {r['error']} | | | |")


if __name__ == "__main__":
    main()
