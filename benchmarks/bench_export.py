"""Benchmark figure exports with the renderer warm: the London LSOA map (target under 4 s) and
every other figure (target under 2 s each), as PNG, SVG and PDF.

Each export is the whole of what a download does (explorer.export.build_item: the controlled
numbers from the app's cache, the figure framed for print; then render with the warm kaleido
server). The app's caches are warmed by one untimed export of each figure first, as they are in
a running app; then each export is timed `--repeats` times and the median and worst are kept.
Writes ``benchmarks/results/export.json``.

    python benchmarks/bench_export.py [--region london] [--repeats 3] [--output PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

from explorer.config import load_settings
from explorer.errors import ExplorerError
from explorer.export import ExportRequest, build_item, render

RESULTS = Path(__file__).resolve().parent / "results" / "export.json"
FORMATS = ("png", "svg", "pdf")
CASES = (
    ("LSOA map (4,994 areas)", ExportRequest("map", "lsoa", metric="coverage", role="commissioner")),
    ("PCN map (199 areas)", ExportRequest("map", "pcn", metric="coverage", role="commissioner")),
    ("deprivation gradient", ExportRequest("gradient", "region", metric="coverage", role="commissioner")),
    ("cascade", ExportRequest("cascade", "region", role="commissioner")),
    ("trend", ExportRequest("trend", "region", metric="coverage", role="commissioner")),
    ("inequalities (ethnic group)", ExportRequest("inequalities", "region", metric="coverage", role="commissioner")),
    ("funnel (PCNs)", ExportRequest("funnel", "pcn", metric="coverage", role="commissioner")),
    ("outreach (PCNs)", ExportRequest("outreach", "pcn", role="commissioner")),
    ("population (age and sex)", ExportRequest("population", "region", role="commissioner")),
    ("calibration", ExportRequest("calibration", "region", role="analyst")),
)


def _export(data, request: ExportRequest, fmt: str) -> int:
    item = build_item(data, request)
    return len(render(item.figure, fmt, width=item.width, height=item.height))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--region", default="london")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()

    from explorer.services.app_data import AppData

    try:
        started = time.perf_counter()
        data = AppData.load(load_settings(), args.region)
    except ExplorerError as exc:
        print(f"skipped: {exc}")
        return 0
    load_seconds = time.perf_counter() - started
    started = time.perf_counter()
    _export(data, CASES[3][1], "png")  # starts Chromium: the one cold start, untimed below
    cold = time.perf_counter() - started
    rows = []
    for name, request in CASES:
        for fmt in FORMATS:
            _export(data, request, fmt)  # warm: the app's caches hold this view, as after a first look
            times, size = [], 0
            for _ in range(args.repeats):
                t0 = time.perf_counter()
                size = _export(data, request, fmt)
                times.append(time.perf_counter() - t0)
            rows.append({"figure": name, "format": fmt, "median_s": round(statistics.median(times), 3),
                         "max_s": round(max(times), 3), "bytes": size})
            print(f"{name:32s} {fmt}  median {statistics.median(times):6.2f} s  max {max(times):6.2f} s  "
                  f"{size / 1024:8.0f} KB", flush=True)
    result = {"region": args.region, "repeats": args.repeats, "load_seconds": round(load_seconds, 1),
              "cold_start_seconds": round(cold, 2), "rows": rows,
              "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0], "platform": platform.platform()},
              "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(f"-> {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
