"""Benchmark board packs and tables: how long a full pack takes with the renderer warm, per step.

Loads the region's app data, warms the engine's cell tables and the kaleido renderer (as the app
is warm after start-up), then for every ICS (or --areas N of a level) times: the slides' content
(charts drawn and rendered to PNG, numbers, narrative), the PPTX layout and the PDF layout; and
every table kind as CSV and xlsx. Writes ``benchmarks/results/export_pack.json``.

    python benchmarks/bench_export_pack.py [--region london] [--level ics] [--areas 5]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

from explorer.config import load_settings
from explorer.export.files import export_table
from explorer.export.items import ExportRequest
from explorer.export.pack import build_pack, pack_bytes
from explorer.export.renderer import render
from explorer.services.app_data import AppData

RESULTS = Path(__file__).resolve().parent / "results" / "export_pack.json"
ROLE = "commissioner"


def _timed(fn):
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--region", default="london")
    parser.add_argument("--level", default="ics", choices=("ics", "place", "pcn"))
    parser.add_argument("--areas", type=int, default=5)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()

    data, load_s = _timed(lambda: AppData.load(load_settings(), args.region))
    areas = data.geometry[args.level].codes[: args.areas]
    # warm-up: the engine's cell tables (as the app's start-up) and the renderer (one chart)
    _, warm_engine_s = _timed(lambda: build_pack(data, args.level, areas[0], ROLE, renderer=lambda f: b""))
    import plotly.graph_objects as go

    _, warm_render_s = _timed(lambda: render(go.Figure(go.Bar(y=[1, 2])), "png", width=400, height=300))
    rows = []
    for code in areas:
        pack, content_s = _timed(lambda code=code: build_pack(data, args.level, code, ROLE))
        pptx, pptx_s = _timed(lambda pack=pack: pack_bytes(pack, "pptx"))
        pdf, pdf_s = _timed(lambda pack=pack: pack_bytes(pack, "pdf"))
        rows.append({"area": code, "slides": len(pack.slides), "content_s": round(content_s, 2),
                     "pptx_s": round(pptx_s, 2), "pdf_s": round(pdf_s, 2),
                     "both_formats_s": round(content_s + pptx_s + pdf_s, 2),
                     "pptx_kb": len(pptx) // 1024, "pdf_kb": len(pdf) // 1024})
        print(rows[-1], flush=True)
    pcn = data.geometry["pcn"].codes[0]
    tables = []
    for kind, level, area, by in (("map", "lsoa", None, None), ("map", "pcn", None, None),
                                  ("gradient", "pcn", pcn, "imd_decile"), ("trend", "pcn", pcn, None),
                                  ("inequalities", "pcn", pcn, "ethnic_group"), ("cascade", "pcn", pcn, None),
                                  ("funnel", "pcn", None, None), ("outreach", "pcn", None, None)):
        for fmt in ("csv", "xlsx"):
            request = ExportRequest(kind, level, area, None if kind in ("cascade", "outreach") else "coverage",
                                    (), ROLE, by)
            export_table(data, request, fmt, user="benchmark")  # first call fills the cache
            (frame, payload), seconds = _timed(lambda r=request, f=fmt: export_table(data, r, f, user="benchmark"))
            tables.append({"kind": kind, "level": level, "format": fmt, "rows": len(frame),
                           "seconds": round(seconds, 3), "kb": len(payload) // 1024})
            print(tables[-1], flush=True)
    full = [r["both_formats_s"] for r in rows]
    one = [r["content_s"] + r["pptx_s"] for r in rows]
    result = {
        "measured_at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "machine": platform.machine(),
        "cpus": os.cpu_count(), "region": args.region, "level": args.level, "role": ROLE,
        "load_s": round(load_s, 1), "engine_warm_up_s": round(warm_engine_s, 1),
        "renderer_warm_up_s": round(warm_render_s, 1),
        "pack_one_format_median_s": round(statistics.median(one), 2), "pack_one_format_max_s": round(max(one), 2),
        "pack_both_formats_median_s": round(statistics.median(full), 2),
        "pack_both_formats_max_s": round(max(full), 2), "packs": rows, "tables": tables,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k not in ("packs", "tables")}, indent=2))


if __name__ == "__main__":
    main()
