"""Benchmark figure exports with the renderer warm: the London LSOA map (target under 4 s) and
every other figure (target under 2 s each), as PNG, SVG and PDF.

Each export is the whole of what a download does (explorer.export.build_item: the controlled
numbers from the app's cache, the figure framed for print; then render with the warm kaleido
server). The app's caches are warmed by one untimed export of each figure first, as they are in
a running app; then each export is timed `--repeats` times and the median and worst are kept.
Wall time and CPU time (this process and the renderer's Chromium processes) are both kept: on a
shared machine the wall time grows with the other work, the CPU time much less. Writes
``benchmarks/results/export.json``.

    python benchmarks/bench_export.py [--region london] [--repeats 3] [--only "LSOA map"] [--output PATH]

``--only TEXT`` times only the figures whose name contains TEXT (e.g. the LSOA map alone, when the
machine is quiet for a short while); the load average at the start and the end is kept with them.
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


CLK_TCK = os.sysconf("SC_CLK_TCK")


def _descendants(root: int) -> list[int]:
    """This process's children, grandchildren... (the renderer's Chromium processes), from /proc."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    out, todo = [], [root]
    while todo:
        kids = parents.get(todo.pop(), [])
        out += kids
        todo += kids
    return out


def cpu_seconds() -> float:
    """CPU time used so far by this process and the renderer's processes: unlike wall time, it does
    not grow when other work shares the cores (this machine's 2 cores are shared)."""
    own = sum(os.times()[:2])
    children = 0.0
    for pid in _descendants(os.getpid()):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            children += (int(fields[11]) + int(fields[12])) / CLK_TCK
        except OSError:
            continue
    return own + children


def _export(data, request: ExportRequest, fmt: str) -> int:
    item = build_item(data, request)
    return len(render(item.figure, fmt, width=item.width, height=item.height))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--region", default="london")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", default="", help="time only the figures whose name contains this text")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()
    cases = [(name, request) for name, request in CASES if args.only in name]
    if not cases:
        parser.error(f"no figure's name contains {args.only!r}")

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
    load_at_start = os.getloadavg()
    rows = []
    for name, request in cases:
        for fmt in FORMATS:
            _export(data, request, fmt)  # warm: the app's caches hold this view, as after a first look
            times, cpu, size = [], [], 0
            for _ in range(args.repeats):
                t0, c0 = time.perf_counter(), cpu_seconds()
                size = _export(data, request, fmt)
                times.append(time.perf_counter() - t0)
                cpu.append(cpu_seconds() - c0)
            rows.append({"figure": name, "format": fmt, "median_s": round(statistics.median(times), 3),
                         "max_s": round(max(times), 3), "cpu_median_s": round(statistics.median(cpu), 3),
                         "bytes": size})
            print(f"{name:32s} {fmt}  median {statistics.median(times):6.2f} s  max {max(times):6.2f} s  "
                  f"cpu {statistics.median(cpu):6.2f} s  {size / 1024:8.0f} KB", flush=True)
    result = {"region": args.region, "repeats": args.repeats, "only": args.only or None,
              "load_average_at_start": load_at_start, "load_average": os.getloadavg(),
              "load_seconds": round(load_seconds, 1),
              "cold_start_seconds": round(cold, 2), "rows": rows,
              "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0], "platform": platform.platform()},
              "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(f"-> {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
