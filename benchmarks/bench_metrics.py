"""Benchmark the care-plan metrics engine on a region's person-level records.

Builds the cell tables (DuckDB over the Parquet records) and times ``metric_table`` at every level
while the filters change, as the app does when someone clicks through the filter panel; also the
trend, by-group, inequality and cascade calls. Writes ``benchmarks/results/metrics.json``.

    python benchmarks/bench_metrics.py [--region london] [--repeats 5] [--output PATH]

Skips (exit 0, with a message) when the region's bundle or records have not been made yet
(`explorer data build`, then `explorer data synth`).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import statistics
import sys
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from explorer.config import load_settings
from explorer.services import load_engine
from explorer.domain.metrics import Filters
from explorer.errors import ExplorerError

RESULTS = Path(__file__).resolve().parent / "results" / "metrics.json"
LEVELS = ("region", "ics", "place", "pcn", "lsoa")
METRICS = ("coverage", "adjusted_coverage", "coverage_dsr", "completeness", "reviewed_in_period",
           "urgent_care_views", "active_users")
FILTER_SETS = (
    [], ["frailty=moderate,severe"], ["age_band=75-84,85+"], ["sex=female", "age_band=85+"], ["imd_quintile=1"],
    ["ethnic_group=black,asian"], ["disabled=yes"], ["frailty=severe", "imd_quintile=1,2"],
    ["ethnic_group=white", "sex=male", "age_band=65-74"], ["imd_decile=10"],
)


def _rss_mb() -> float:
    """Peak resident memory so far (MB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _current_rss_mb() -> float:
    """Resident memory now (MB; Linux), after the transient build peaks are released."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        return float("nan")
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _timed(fn, *args, **kwargs) -> tuple[float, object]:
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - start, out


def _summary(seconds: list[float]) -> dict:
    ms = np.asarray(seconds) * 1000
    return {"calls": len(ms), "median_ms": round(float(np.median(ms)), 2),
            "p95_ms": round(float(np.percentile(ms, 95)), 2), "max_ms": round(float(ms.max()), 2)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--region", default="london")
    parser.add_argument("--repeats", type=int, default=5, help="passes over the filter sets per level")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    settings = load_settings()
    try:
        engine = load_engine(settings, args.region)
    except ExplorerError as exc:
        print(f"skipped: {exc}")
        return 0
    if not engine.has_records:
        print(f"skipped: no person-level records for {args.region} in {engine.cells.directory} "
              "(run `explorer data synth` first)")
        return 0

    result: dict = {
        "region": args.region, "snapshot": engine.snapshot.isoformat(),
        "machine": {"python": platform.python_version(), "platform": platform.platform(),
                    "cpus": os.cpu_count(), "duckdb": duckdb.__version__, "pandas": pd.__version__,
                    "numpy": np.__version__, "load_average_at_start": [round(x, 2) for x in os.getloadavg()]},
        "build_seconds": {}, "cells": {}, "calls": {},
    }
    builds = {
        "person_cells": lambda: engine.person_cells(),
        "plan_cells_24_months": lambda: engine.plan_cells(engine.months),
        "user_cells_24_months": lambda: engine.user_cells(engine.months),
    }
    # with risk scores, these cells carry the default risk definition's high-risk flag too
    result["cells_risk_definition"] = (
        {"kind": engine.default_risk.kind, "value": engine.default_risk.value} if engine.has_risk_scores else None)
    for name, build in builds.items():
        seconds, cells = _timed(build)
        result["build_seconds"][name] = round(seconds, 2)
        result["cells"][name] = {"rows": int(cells.n)}
        print(f"built {name}: {cells.n:,} rows in {seconds:.1f} s")
    people = engine.comparator("coverage")["denominator"]
    result["people_alive_at_snapshot"] = int(people)
    gc.collect()
    result["max_rss_mb_after_build"] = round(_rss_mb())
    result["rss_mb_after_build"] = round(_current_rss_mb())

    filter_sets = [Filters.parse(f) for f in FILTER_SETS]
    for level in LEVELS:
        times = []
        for _ in range(args.repeats):
            for filters in filter_sets:
                for metric in METRICS:
                    seconds, _ = _timed(engine.metric_table, level, metric, filters)
                    times.append(seconds)
        result["calls"][f"metric_table/{level}"] = _summary(times)
        print(f"metric_table {level:6s}: {result['calls'][f'metric_table/{level}']}")

    extra = {
        "trend/coverage/region": lambda f: engine.trend("coverage", f),
        "trend/adjusted_coverage/ics": lambda f: engine.trend("adjusted_coverage", f,
                                                              area_code=engine.index.codes["ics"][0]),
        "by_group/coverage/imd_decile/pcn": lambda f: engine.by_group("coverage", "imd_decile", f, level="pcn"),
        "inequality/coverage/imd_quintile/place": lambda f: engine.inequality("place", "coverage", "imd_quintile", f),
        "cascade/everyone/region": lambda f: engine.cascade(f, risk=None),
    }
    if engine.has_risk_scores:
        extra["outreach/pcn"] = lambda f: engine.outreach("pcn", filters=f)
    for name, call in extra.items():
        times = [_timed(call, f)[0] for f in filter_sets]
        result["calls"][name] = _summary(times)
        print(f"{name}: {result['calls'][name]}")
    result["max_rss_mb"] = round(_rss_mb())
    result["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    result["median_of_medians_ms"] = round(statistics.median(
        v["median_ms"] for k, v in result["calls"].items() if k.startswith("metric_table")), 2)

    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(f"-> {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
