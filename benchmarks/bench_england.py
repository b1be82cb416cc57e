"""England at national scale: bundle, records, risk model, stored cells, queries, the CLI summary and the app.

Each step runs in a fresh subprocess, so its peak resident memory (ru_maxrss) is its own:
- build: the command `explorer data build --region england` (time and peak RSS of the process);
- people: `generate_people` alone for England's 56.5 million people, chunk by chunk (nothing written);
- records: `generate_records` (what `explorer data synth --region england` runs): people written part by
  part, then plans, reviews, views, users and logins; with the calibration (active plans against the
  per-head London target, coverage of the moderately/severely frail by IMD quintile: the inequity);
- train: `train_region` (what `explorer model train --region england` runs): a MAX_TRAINING_PEOPLE
  sample is fitted and evaluated, everyone is scored part by part;
- cells: `store_region_cells` (the step `explorer data synth`, the imports and `explorer model train` end
  with): DuckDB cell tables for the 24-month history from the records, stored with their manifest;
- aggregate: the coverage engine as `explorer summary` loads it (one snapshot, from the stored cells when
  current), then coverage and high_risk_without_plan per level (region, ICS, place, PCN, LSOA), and
  whether the stored cells were used;
- summary: the command `explorer summary --region england --level ics --metric coverage
  --metric high_risk_without_plan` itself (time and peak RSS of the process);
- serve: `explorer serve --demo --region england` (nothing left to prepare) until the first page answers
  200, and the resident memory of gunicorn's master and 2 workers then (RSS each, and PSS: the
  copy-on-write pages shared after --preload counted once);
- app: AppData.load + create_app with warming (what each gunicorn master does before forking), RSS
  after warming, and map callbacks per level (ICS, place, PCN) through explorer.app.probe with
  Flask's test client, plus the boundary payload per level and what England's LSOA layer would cost.

Needs the England bundle (`explorer data build --region england`) under EXPLORER_DATA_DIR. The
records and model steps REPLACE England's records and model there, as the CLI commands do.

    python benchmarks/bench_england.py [--steps build people records train cells aggregate summary serve app]

Writes benchmarks/results/england.json (steps not run keep their last figures) and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "england.json"
REGION = "england"
PRELUDE = """
import json, resource, sys, time
from explorer.config import load_settings
from explorer.bundle.store import load_bundle
settings = load_settings()
bundle = load_bundle(settings, "england")
start = time.perf_counter()
def rss_now():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024)
"""
STEPS = {
    "people": """
from explorer.synth.cohort import generate_people
rows = chunks = 0
for frame in generate_people(bundle, 20261122):
    rows += len(frame); chunks += 1
extra = {"rows": rows, "chunks": chunks, "bundle_population": int(bundle.lsoas["population"].sum())}
""",
    "records": """
from explorer.synth.careplans import generate_records
m = generate_records(settings, bundle)
c = m["calibration"]
extra = {"rows": m["rows"], "bundle_population": int(bundle.lsoas["population"].sum()),
         "active_plans": c["active_plans"], "active_plans_target": c["active_plans_target"],
         "coverage_moderate_severe_frail_by_imd_quintile": c["coverage_moderate_severe_frail_by_imd_quintile"],
         "emergency_admission_rate_by_imd_quintile": c["emergency_admission_rate_by_imd_quintile"],
         "completeness_mean_by_imd_quintile": c["completeness_mean_by_imd_quintile"],
         "people_parts": len(list(__import__("explorer.records.store", fromlist=["table_dir"]).table_dir(
             settings.data_dir / "records" / "england", "people").glob("part-*.parquet")))}
""",
    "train": """
from explorer.services import train_region
from explorer.services.models import MAX_TRAINING_PEOPLE
r = train_region(settings, "england")
rep = r["report"]
extra = {"max_training_people": MAX_TRAINING_PEOPLE,
         "training_rows": r["training_rows"], "validation_rows": r["validation_rows"], "scored": r["scored"],
         "train_seconds": r["train_seconds"], "score_seconds": r["score_seconds"], "auc": round(rep["auc"], 4),
         "oracle_auc": round(rep["oracle_auc"], 4) if rep.get("oracle_auc") is not None else None,
         "brier": round(rep["brier"], 5), "calibration_slope": round(rep["calibration_slope"], 3),
         "flagged_groups": rep["flagged_groups"],
         "gbm_auc": round(rep["comparison"]["gbm"]["auc"], 4) if rep.get("comparison") else None}
""",
    "cells": """
from explorer.services.cells import store_region_cells
done = store_region_cells(settings, "england")
extra = {"tables": done["tables"], "step_seconds": done["seconds"]}
""",
    "aggregate": """
from explorer.services import load_engine
from explorer.services.cells import StoredCells
from explorer.domain.metrics import DEFAULT_RISK, Filters
engine = load_engine(settings, "england", eager_history=False)
t = time.perf_counter(); people = engine.person_cells(DEFAULT_RISK)
person_s = time.perf_counter() - t; person_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
levels = {}
for level in ("region", "ics", "place", "pcn", "lsoa"):
    row = {}
    for metric in ("coverage", "high_risk_without_plan"):
        t = time.perf_counter(); table = engine.metric_table(level, metric, Filters(), risk=DEFAULT_RISK)
        row[f"{metric}_seconds"] = round(time.perf_counter() - t, 2)
    t = time.perf_counter(); engine.metric_table(level, "coverage", Filters(age_band=("85+",), imd_quintile=(1,)))
    row["coverage_filtered_seconds"] = round(time.perf_counter() - t, 2)
    row["areas"] = len(table)
    levels[level] = row
extra = {"stored_cells": isinstance(engine.cells, StoredCells), "person_cells": people.n,
         "person_cells_seconds": round(person_s, 1), "person_cells_peak_rss_mb": round(person_peak), "levels": levels,
         "rss_after_mb": rss_now()}
""",
    "app": """
import gzip
from explorer.app import ids
from explorer.services.app_data import AppData
from explorer.app.factory import create_app
from explorer.app.geometry import url_for_level
from explorer.app.probe import CallbackProbe, key
from explorer.app.state import MapView
from explorer.domain.metrics import Filters
import numpy as np, shapely
data = AppData.load(settings, "england")
loaded = time.perf_counter() - start
app = create_app(settings, "england", demo_role="commissioner", data=data)
warmed = time.perf_counter() - start
warm_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
after_warm = rss_now()
client = app.server.test_client()
probe = CallbackProbe.for_flask(client)
levels = {}
for level in data.levels:
    geo = client.get(url_for_level(level), headers={"Accept-Encoding": "gzip"})  # explorer.app.geometry
    calls = {"values": [], "table": [], "selection": []}
    for flt in (Filters(), Filters(sex=("female",)), Filters(age_band=("85+",)), Filters(imd_quintile=(1,)),
                Filters(ethnic_group=("black",)), Filters(age_band=("75-84",), imd_quintile=(1, 2))):
        for metric in ("coverage", "high_risk_without_plan"):
            stored = MapView(level=level, metric=metric, filters=flt).to_store()
            v = {key(ids.MAP_VIEW, "data"): stored}
            calls["values"].append(probe.call("map-values.data", v, [key(ids.MAP_VIEW, "data")]))
            calls["selection"].append(probe.call("map-selection.children", v, [key(ids.MAP_VIEW, "data")]))
            calls["table"].append(probe.call("map-table.getRowsResponse", {
                **v, key(ids.MAP_TABLE, "getRowsRequest"): {"startRow": 0, "endRow": 15, "sortModel": []}},
                [key(ids.MAP_TABLE, "getRowsRequest")]))
    levels[level] = {"areas": len(data.geometry[level].codes), "geometry_wire_kb": round(len(geo.data) / 1024, 1),
                     "geometry_uncompressed_kb": round(len(gzip.decompress(geo.data)) / 1024, 1),
                     "geometry_status": geo.status_code,
                     **{f"{name}_median_ms": round(float(np.median([r.seconds for r in rs])) * 1000, 1)
                        for name, rs in calls.items()},
                     **{f"{name}_max_ms": round(max(r.seconds for r in rs) * 1000, 1) for name, rs in calls.items()},
                     "values_median_wire_bytes": float(np.median([r.wire_bytes for r in calls["values"]])),
                     "statuses": sorted({r.status for rs in calls.values() for r in rs})}
refused = client.get(url_for_level("lsoa"))
gdf = bundle.boundaries("lsoa")
lsoa_json = json.dumps({"type": "FeatureCollection", "features": [
    {"type": "Feature", "id": c, "geometry": json.loads(shapely.to_geojson(g))}
    for c, g in zip(gdf["lsoa_code"], gdf.geometry.values)]}).encode()
extra = {"load_seconds": round(loaded, 1), "create_and_warm_seconds": round(warmed, 1),
         "warm_peak_rss_mb": round(warm_peak), "rss_after_warm_mb": after_warm, "rss_after_callbacks_mb": rss_now(),
         "levels_offered": list(data.levels), "levels": levels, "lsoa_geometry_request_status": refused.status_code,
         "lsoa_layer_if_offered": {"areas": len(gdf), "uncompressed_kb": round(len(lsoa_json) / 1024),
                                   "gzip_kb": round(len(gzip.compress(lsoa_json, 5)) / 1024)}}
""",
}
REPORT = """
print("RESULT " + json.dumps({"step": sys.argv[1], "seconds": round(time.perf_counter() - start, 1),
      "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024), **extra}, default=str))
"""
BUILD_COMMAND = ["explorer", "data", "build", "--region", REGION]
SERVE_PORT = 8062
SUMMARY_COMMAND = ["explorer", "summary", "--region", REGION, "--level", "ics", "--metric", "coverage",
                   "--metric", "high_risk_without_plan"]


def run_step(step: str) -> dict:
    if step == "summary":
        return run_command("summary", SUMMARY_COMMAND)
    if step == "build":
        return run_command("build", BUILD_COMMAND)
    if step == "serve":
        return run_serve()
    done = subprocess.run([sys.executable, "-c", PRELUDE + STEPS[step] + REPORT, step], check=False, capture_output=True,
                          text=True)
    if done.returncode:
        raise SystemExit(f"{step} failed:\n{done.stderr.strip()[-3000:]}")
    return json.loads([line for line in done.stdout.splitlines() if line.startswith("RESULT ")][-1][7:])


def run_command(step: str, command: list[str]) -> dict:
    """A CLI command as a user runs it; peak RSS from the child's rusage (a fresh wrapper process)."""
    wrapper = ("import json, resource, subprocess, sys, time\nt = time.perf_counter()\n"
               "done = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
               "print(json.dumps({'rc': done.returncode, 'seconds': round(time.perf_counter() - t, 1), "
               "'peak_rss_mb': round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024), "
               "'rows': max(len(done.stdout.splitlines()) - 1, 0), 'stderr': done.stderr[-2000:]}))")
    done = subprocess.run([sys.executable, "-c", wrapper, *command], capture_output=True, text=True, check=True)
    result = json.loads(done.stdout)
    if result["rc"]:
        raise SystemExit(f"{step} failed:\n{result['stderr']}")
    return {"step": step, "command": " ".join(command), "seconds": result["seconds"],
            "peak_rss_mb": result["peak_rss_mb"], **({"rows": result["rows"]} if step == "summary" else {})}


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants (gunicorn's master and workers)."""
    children = Path(f"/proc/{pid}/task/{pid}/children")
    kids = [int(c) for c in children.read_text().split()] if children.exists() else []
    return [pid, *(p for kid in kids for p in _tree(kid))]


def _memory_kb(pid: int, field: str, source: str) -> int:
    for line in Path(f"/proc/{pid}/{source}").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def run_serve() -> dict:
    """`explorer serve --demo --region england` until "/" answers 200; memory of the process tree then."""
    import signal
    import urllib.request

    command = [sys.executable, "-m", "explorer", "serve", "--demo", "--region", REGION, "--port", str(SERVE_PORT)]
    started = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"serve exited:\n{proc.stderr.read().decode()[-2000:]}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{SERVE_PORT}/", timeout=30) as response:
                    if response.status == 200:
                        break
            except OSError:
                time.sleep(0.5)
            if time.perf_counter() - started > 600:
                raise SystemExit("serve did not answer within 10 minutes")
        seconds = time.perf_counter() - started
        pids = _tree(proc.pid)
        rss = {pid: round(_memory_kb(pid, "VmRSS", "status") / 1024) for pid in pids}
        pss = {pid: round(_memory_kb(pid, "Pss", "smaps_rollup") / 1024) for pid in pids}
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)
    return {"step": "serve", "command": " ".join(command[1:]), "seconds": round(seconds, 1),
            "peak_rss_mb": max(rss.values()), "processes": len(pids), "rss_mb": list(rss.values()),
            "rss_total_mb": sum(rss.values()), "pss_total_mb": sum(pss.values())}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    extra_steps = ["build", "summary", "serve"]
    parser.add_argument("--steps", nargs="+", default=["build", *STEPS, "summary", "serve"],
                        choices=[*STEPS, *extra_steps])
    args = parser.parse_args(argv)
    kept = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    kept.setdefault("steps", {})
    order = [s for s in ("build", "people", "records", "train", "cells", "aggregate", "summary", "serve", "app")
             if s in args.steps]
    for step in order:
        started = time.perf_counter()
        kept["steps"][step] = {**run_step(step), "measured_at": time.strftime("%Y-%m-%d %H:%M:%S")}
        print(f"{step}: {time.perf_counter() - started:.0f} s", file=sys.stderr)
        kept["machine"] = {"cpus": os.cpu_count(), "python": sys.version.split()[0], "platform": platform.platform(),
                           "note": "2 cores shared with other work; times are wall clock"}
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(kept, indent=2, default=str) + "\n")
    print(markdown(kept["steps"]))
    return kept


def markdown(steps: dict) -> str:
    lines = ["| England step | what | time | peak RSS |", "|---|---|---:|---:|"]
    what = {
        "people": lambda r: f"{r['rows']:,} people in {r['chunks']} chunks (bundle population {r['bundle_population']:,})",
        "records": lambda r: f"{r['rows']['people']:,} people, {r['rows']['plans']:,} plans "
                             f"({r['active_plans']:,} active; target {r['active_plans_target']:,.0f})",
        "train": lambda r: f"AUC {r['auc']} (true model {r['oracle_auc']}); fitted on {r['training_rows']:,}, "
                           f"scored {r['scored']:,}",
        "build": lambda r: r["command"],
        "cells": lambda r: ", ".join(f"{n:,} {t.replace('_', ' ')}" for t, n in r["tables"].items()),
        "serve": lambda r: f"first page 200; {r['processes']} processes RSS {r['rss_total_mb']:,} MB, "
                           f"PSS {r['pss_total_mb']:,} MB",
        "aggregate": lambda r: f"{r['person_cells']:,} person cells in {r['person_cells_seconds']} s; "
                               + ", ".join(f"{lv} {v['coverage_seconds']} s" for lv, v in r["levels"].items()),
        "summary": lambda r: r["command"],
        "app": lambda r: f"load + warm {r['create_and_warm_seconds']} s, RSS after warm {r['rss_after_warm_mb']:,} MB; "
                         + ", ".join(f"{lv} values {v['values_median_ms']} ms" for lv, v in r["levels"].items()),
    }
    for step, r in steps.items():
        lines.append(f"| {step} | {what[step](r)} | {r['seconds']} s | {r['peak_rss_mb']:,} MB |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
