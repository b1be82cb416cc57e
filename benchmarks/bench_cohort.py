"""Time and peak memory of generating a region's synthetic cohort and of aggregating it with DuckDB.

Three measurements, each in a fresh subprocess so its peak resident memory (ru_maxrss) is its own
(tracemalloc is not used: it slowed generation about four-fold and does not see Arrow's buffers):
- people: `generate_people` alone, every chunk built and dropped (no writing);
- records: `generate_records` (people written chunk by chunk, then plans, reviews, views, users, logins);
- aggregate: one DuckDB group-by over the Parquet files, people and active plans per
  LSOA x age band x sex, the shape the metrics engine needs; the cohort never enters pandas.

Needs a built bundle (`explorer data build --region london`) under EXPLORER_DATA_DIR. Records are
written to a temporary data directory that links to that bundle, so yours are not replaced.
Usage: python benchmarks/bench_cohort.py [london] [england]
Writes benchmarks/results/cohort.json and prints a Markdown table.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

RESULTS = Path(__file__).parent / "results" / "cohort.json"
PRELUDE = """
import json, resource, sys, time
from explorer.config import load_settings
from explorer.bundle.store import load_bundle
region, step = sys.argv[1], sys.argv[2]
settings = load_settings()
bundle = load_bundle(settings, region)
start = time.perf_counter()
"""
STEPS = {
    "people": """
from explorer.synth.cohort import generate_people
rows = chunks = 0
for frame in generate_people(bundle, 20261122):
    rows += len(frame); chunks += 1
extra = {"rows": rows, "chunks": chunks}
""",
    "records": """
from explorer.synth.careplans import generate_records
manifest = generate_records(settings, bundle)
extra = {"rows": manifest["rows"], "active_plans": manifest["calibration"]["active_plans"]}
""",
    "aggregate": """
import duckdb
from explorer.records.store import records_dir, table_glob
directory = records_dir(settings, region)
con = duckdb.connect()
con.execute("SET enable_progress_bar = false")
cells = con.execute(f'''
    WITH people AS (
        SELECT person_id, lsoa_code, sex,
               CASE WHEN age < 16 THEN '0-15' WHEN age < 30 THEN '16-29' WHEN age < 45 THEN '30-44'
                    WHEN age < 65 THEN '45-64' WHEN age < 75 THEN '65-74' WHEN age < 85 THEN '75-84'
                    ELSE '85+' END AS age_band
        FROM read_parquet('{table_glob(directory, "people")}')),
    active AS (SELECT DISTINCT person_id FROM read_parquet('{table_glob(directory, "plans")}')
               WHERE status = 'active')
    SELECT lsoa_code, age_band, sex, count(*) AS people, count(active.person_id) AS active_plans
    FROM people LEFT JOIN active USING (person_id) GROUP BY ALL''').df()
extra = {"cells": len(cells), "people": int(cells["people"].sum()), "active_plans": int(cells["active_plans"].sum()),
         "threads": con.execute("SELECT current_setting('threads')").fetchone()[0]}
""",
}
REPORT = """
seconds = time.perf_counter() - start
print("RESULT " + json.dumps({"region": region, "step": step, "seconds": round(seconds, 1),
                  "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024), **extra}))
"""


def run(region: str, step: str, env: dict) -> dict:
    done = subprocess.run([sys.executable, "-c", PRELUDE + STEPS[step] + REPORT, region, step], env=env,
                          capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{region} {step} failed:\n{done.stderr.strip()}")
    return json.loads([line for line in done.stdout.splitlines() if line.startswith("RESULT ")][-1][7:])


def main(regions: list[str]) -> None:
    from explorer.config import load_settings

    source = load_settings().data_dir / "bundles"
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as home:
        (Path(home) / "data").mkdir()
        (Path(home) / "data" / "bundles").symlink_to(source, target_is_directory=True)
        env = {**os.environ, "EXPLORER_DATA_DIR": f"{home}/data"}
        for region in regions:
            results[region] = {step: run(region, step, env) for step in STEPS}
    RESULTS.parent.mkdir(exist_ok=True)
    kept = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}  # other regions' last figures stay
    RESULTS.write_text(json.dumps({**kept, **results}, indent=2))
    print("| region | step | rows | time | peak RSS |")
    print("|---|---|---|---|---|")
    for region, steps in results.items():
        for step, r in steps.items():
            rows = r.get("rows", r.get("cells"))
            rows = f"{rows['people']:,} people + {sum(rows.values()) - rows['people']:,} other" if isinstance(
                rows, dict) else f"{rows:,}" + (" cells" if step == "aggregate" else "")
            print(f"| {region} | {step} | {rows} | {r['seconds']} s | {r['peak_rss_mb']:,} MB |")


if __name__ == "__main__":
    main(sys.argv[1:] or ["london"])
