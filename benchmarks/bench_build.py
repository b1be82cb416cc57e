"""Build time, peak memory and boundary payload per level for London and England.

Each build runs in a fresh subprocess so its peak resident memory (ru_maxrss) is its own.
Usage: EXPLORER_MIRROR=../shared/data/public python benchmarks/bench_build.py [london] [england]
Writes benchmarks/results/build.json and prints a Markdown table.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

RESULTS = Path(__file__).parent / "results" / "build.json"
CHILD = """
import json, resource, sys, time
from explorer.config import load_settings
from explorer.services.build import build_region
from explorer.sources.fetch import fetch_source
from explorer.sources.registry import PUBLIC_SOURCES, SOURCES
settings = load_settings()
for name in PUBLIC_SOURCES:
    fetch_source(settings, SOURCES[name], progress=False)
start = time.perf_counter()
manifest = build_region(settings, sys.argv[1])
seconds = time.perf_counter() - start
print(json.dumps({"region": sys.argv[1], "seconds": round(seconds, 1),
                  "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                  "counts": manifest["counts"], "boundary_geojson_kb": manifest["boundary_geojson_kb"]}))
"""


def main(regions: list[str]) -> None:
    results = {}
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "EXPLORER_DATA_DIR": f"{home}/data", "EXPLORER_CACHE_DIR": f"{home}/cache"}
        for region in regions:
            out = subprocess.run([sys.executable, "-c", CHILD, region], env=env, check=True,
                                 capture_output=True, text=True).stdout
            results[region] = json.loads(out.strip().splitlines()[-1])
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2))
    print("| region | LSOAs | places | ICSs | PCNs | build time | peak RSS | GeoJSON KB LSOA / PCN / place / ICS |")
    print("|---|---|---|---|---|---|---|---|")
    for r in results.values():
        c, kb = r["counts"], r["boundary_geojson_kb"]
        print(f"| {r['region']} | {c['lsoa']:,} | {c['place']} | {c['ics']} | {c['pcn']:,} | {r['seconds']} s | "
              f"{r['peak_rss_mb']:,} MB | {kb['lsoa']:,.0f} / {kb['pcn']:,.0f} / {kb['place']:,.0f} / {kb['ics']:,.0f} |")


if __name__ == "__main__":
    main(sys.argv[1:] or ["london", "england"])
