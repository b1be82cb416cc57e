"""Bytes and server time per filter change on the map page, London LSOA level, against the naive design.

What a filter change costs in this app: the callbacks it triggers on the server (the view hub,
compact map values + legend, the selection card, one page of the table, and the navigation check
that answers 204), called through /_dash-update-component exactly as the browser calls them
(explorer.app.probe), in-process with Flask's test client. Geometry is not resent (it is cached in
the browser per level); its one-off size is reported separately.

The naive design: one callback returning a whole go.Figure with the LSOA GeoJSON
(explorer.figures.maps.choropleth_figure) on every filter change.

Targets (issue "The explorer app"): <= 40 KB sent per filter change, p95 <= 150 ms per callback,
>= 30x fewer bytes than the naive design.

    python benchmarks/bench_app.py [--changes 40] [--role commissioner]

Writes benchmarks/results/app.json and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import dash
import numpy as np
from dash import Input, Output, dcc, html

from explorer.app import ids
from explorer.services.app_data import AppData
from explorer.app.factory import install_compression, create_app
from explorer.app.presenters.map import map_payload
from explorer.app.presenters.map import warm as warm_maps
from explorer.app.probe import CallbackProbe, key
from explorer.app.state import MapView
from explorer.config import load_settings
from explorer.domain import access
from explorer.domain.metrics import VOCAB, Filters
from explorer.figures.maps import choropleth_figure

RESULTS = Path(__file__).resolve().parent / "results" / "app.json"
TARGET_KB, TARGET_P95_MS, TARGET_RATIO = 40, 150, 30
FILTER_CALLBACKS = {  # output that identifies each server callback a filter change triggers
    "hub": "map-view.data",
    "values": "map-values.data",
    "navigation": "map-nav-key.data",
    "selection": "map-selection.children",
    "table_columns": "map-table.columnDefs",  # then the grid asks for page 1 of the rows
    "table": "map-table.getRowsResponse",
}


def filter_sequence(n: int) -> list[Filters]:
    """n distinct filter settings, as a user clicking through age bands, sexes, groups, quintiles."""
    combos = itertools.product(
        [(), *[(b,) for b in VOCAB["age_band"]]],
        [(), ("female",), ("male",)],
        [(), ("black",), ("asian",)],
        [(), (1,), (1, 2)],
    )
    out = [Filters(age_band=a, sex=s, ethnic_group=e, imd_quintile=q) for a, s, e, q in combos]
    rng = np.random.default_rng(20261122)
    order = rng.permutation(len(out))
    return [out[i] for i in order[:n]]


def control_values(view: MapView) -> dict:
    from explorer.app.pages.map import CONTROLS, control_values as values

    cv = values(view)
    return {key(ids.map_control(name), "value"): cv[name] for name in CONTROLS}


def measure_app(data: AppData, role: str, changes: int, metric: str) -> dict:
    app = create_app(data.settings, data.region, demo_role=role, data=data, warm=False)
    client = app.server.test_client()
    probe = CallbackProbe.for_flask(client)
    base = MapView(level="lsoa", metric=metric)
    geo = geometry_once(client, "lsoa")  # once per level; then the browser's HTTP cache (ETag)
    per_callback: dict[str, list] = {name: [] for name in FILTER_CALLBACKS}
    totals_wire, totals_raw = [], []
    previous = base
    for flt in filter_sequence(changes):
        view = base.with_(filters=flt)
        values = control_values(view)
        changed_key = key(ids.map_control("age_band"), "value")
        calls = {
            "hub": probe.call(FILTER_CALLBACKS["hub"], {
                **values, key(ids.MAP_VIEW, "data"): previous.to_store(), key(ids.MAP_URL, "search"): previous.to_search(),
                key(ids.MAP_URL, "pathname"): "/", key(ids.MAP_GRAPH, "clickData"): None,
                key(ids.MAP_AREA_PICKER, "value"): None}, [changed_key], wildcard_ids={ids.CRUMB_TYPE: []}),
        }
        stored = view.to_store()
        calls["values"] = probe.call(FILTER_CALLBACKS["values"], {key(ids.MAP_VIEW, "data"): stored},
                                     [key(ids.MAP_VIEW, "data")])
        calls["navigation"] = probe.call(FILTER_CALLBACKS["navigation"], {
            key(ids.MAP_VIEW, "data"): stored, key(ids.MAP_NAV_KEY, "data"): "lsoa|"}, [key(ids.MAP_VIEW, "data")])
        calls["selection"] = probe.call(FILTER_CALLBACKS["selection"], {key(ids.MAP_VIEW, "data"): stored},
                                        [key(ids.MAP_VIEW, "data")])
        calls["table_columns"] = probe.call(FILTER_CALLBACKS["table_columns"], {key(ids.MAP_VIEW, "data"): stored},
                                            [key(ids.MAP_VIEW, "data")])
        calls["table"] = probe.call(FILTER_CALLBACKS["table"], {
            key(ids.MAP_VIEW, "data"): stored,
            key(ids.MAP_TABLE, "getRowsRequest"): {"startRow": 0, "endRow": 15, "sortModel": []}},
            [key(ids.MAP_TABLE, "getRowsRequest")])
        for name, result in calls.items():
            if result.status not in (200, 204):
                raise RuntimeError(f"{name} answered {result.status}")
            per_callback[name].append(result)
        totals_wire.append(sum(r.wire_bytes for r in calls.values()))
        totals_raw.append(sum(r.raw_bytes for r in calls.values()))
        previous = view
    values_payload = per_callback["values"][-1].output(ids.MAP_VALUES, "data")
    return {
        "role": role,
        "metric": metric,
        "areas": len(data.geometry["lsoa"].codes),
        "filter_changes": changes,
        "bytes_per_filter_change": {"median_wire": statistics.median(totals_wire), "max_wire": max(totals_wire),
                                    "median_uncompressed": statistics.median(totals_raw),
                                    "max_uncompressed": max(totals_raw)},
        "callbacks": {name: _summary(results) for name, results in per_callback.items()},
        "geometry_once_per_level": geo,
        "values_payload_keys": sorted(values_payload) if values_payload else [],
    }


def geometry_once(client, level: str) -> dict:
    """The level's boundaries as the browser first fetches them (explorer.app.geometry): bytes on the
    wire (gzip), uncompressed, server time of the first request (serialise + gzip, once per process)
    and of a second one (the stored bytes), and the revalidation a later page load makes (304)."""
    from explorer.app.geometry import url_for_level

    timings, responses = [], []
    for _ in range(2):
        started = time.perf_counter()
        responses.append(client.get(url_for_level(level), headers={"Accept-Encoding": "gzip"}))
        timings.append(time.perf_counter() - started)
    first = responses[0]
    if first.status_code != 200:
        raise RuntimeError(f"geometry of {level} answered {first.status_code}")
    again = client.get(url_for_level(level), headers={"Accept-Encoding": "gzip", "If-None-Match": first.headers["ETag"]})
    return {"level": level, "wire_bytes": len(first.data), "uncompressed_bytes": len(gzip.decompress(first.data)),
            "server_ms_first": round(timings[0] * 1000, 1), "server_ms_after": round(timings[1] * 1000, 1),
            "revalidation_status": again.status_code, "revalidation_bytes": len(again.data)}


def _summary(results: list) -> dict:
    ms = [r.seconds * 1000 for r in results]
    return {"calls": len(results), "median_ms": round(statistics.median(ms), 1),
            "p95_ms": round(float(np.percentile(ms, 95)), 1), "max_ms": round(max(ms), 1),
            "median_wire_bytes": statistics.median(r.wire_bytes for r in results),
            "median_uncompressed_bytes": statistics.median(r.raw_bytes for r in results),
            "statuses": sorted({r.status for r in results})}


def naive_app(data: AppData, role: str, metric: str) -> dash.Dash:
    """The design the brief compares against: a whole figure with its GeoJSON per filter change."""
    app = dash.Dash(__name__)
    install_compression(app.server)  # the same gzip as the app, so the comparison is like for like
    app.layout = html.Div([dcc.Dropdown(id="filter", options=[]), dcc.Graph(id="map")])
    geo = data.geometry["lsoa"]
    policy = access.disclosure_policy_for(role)

    @app.callback(Output("map", "figure"), Input("filter", "value"))
    def figure(value: dict | None):
        view = MapView(level="lsoa", metric=metric, filters=Filters.from_query(value or {}))
        payload = map_payload(data, view, policy)
        table = data.table("lsoa", metric, view.effective_filters, policy, None, view.risk)
        index = [(-1 if c == "s" else -2 if c == "n" else int(c)) for c in payload.arrays["c"]]
        values = table[metric].to_numpy(dtype=float, na_value=np.nan)
        return choropleth_figure(geo.geojson, list(table.index), [data.name_of(c) for c in table.index], values,
                                 index, payload.classes, uirevision="lsoa")

    return app


def measure_naive(data: AppData, role: str, changes: int, metric: str) -> dict:
    app = naive_app(data, role, metric)
    probe = CallbackProbe.for_flask(app.server.test_client())
    results = []
    for flt in filter_sequence(changes):
        results.append(probe.call("map.figure", {key("filter", "value"): flt.to_query()}, [key("filter", "value")]))
    summary = _summary(results)
    return {"bytes_per_filter_change": {"median_wire": summary["median_wire_bytes"],
                                        "median_uncompressed": summary["median_uncompressed_bytes"]},
            "callback": summary}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=40, help="filter changes to measure")
    parser.add_argument("--role", default="commissioner", help="role (commissioner: suppressed; analyst: raw)")
    parser.add_argument("--region", default="london")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    data = AppData.load(load_settings(), args.region)
    metric = "coverage" if "coverage" in data.metrics else "imd_score"
    warm_maps(data, [metric])
    load_seconds = time.perf_counter() - started
    ours = measure_app(data, args.role, args.changes, metric)
    naive = measure_naive(data, args.role, min(args.changes, 10), metric)
    ratio_wire = naive["bytes_per_filter_change"]["median_wire"] / ours["bytes_per_filter_change"]["median_wire"]
    ratio_raw = (naive["bytes_per_filter_change"]["median_uncompressed"]
                 / ours["bytes_per_filter_change"]["median_uncompressed"])
    worst_p95 = max(c["p95_ms"] for c in ours["callbacks"].values())
    result = {
        "benchmark": "map page, one filter change, London LSOA level",
        "machine": {"python": sys.version.split()[0], "platform": platform.platform(), "dash": dash.__version__},
        "data_load_and_warm_seconds": round(load_seconds, 1),
        "synthetic": data.synthetic,
        "app": ours,
        "naive": naive,
        "ratio_naive_to_app": {"wire": round(ratio_wire, 1), "uncompressed": round(ratio_raw, 1)},
        "targets": {"kb_per_filter_change": TARGET_KB, "p95_ms_per_callback": TARGET_P95_MS, "ratio": TARGET_RATIO},
        "meets_targets": {
            "kb_per_filter_change_wire": ours["bytes_per_filter_change"]["max_wire"] <= TARGET_KB * 1024,
            "kb_per_filter_change_uncompressed": ours["bytes_per_filter_change"]["max_uncompressed"] <= TARGET_KB * 1024,
            "p95_ms_per_callback": worst_p95 <= TARGET_P95_MS,
            "ratio": min(ratio_wire, ratio_raw) >= TARGET_RATIO,
        },
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(markdown(result))
    return result


def markdown(result: dict) -> str:
    ours, naive = result["app"], result["naive"]
    kb = lambda b: f"{b / 1024:,.1f} KB"  # noqa: E731
    lines = [
        f"### Map page, one filter change, London LSOA level ({ours['areas']:,} areas, metric {ours['metric']}, "
        f"role {ours['role']}, {ours['filter_changes']} distinct filter changes)",
        "",
        "| | this app | naive (whole figure + GeoJSON) | target |",
        "|---|---:|---:|---:|",
        f"| bytes per filter change, gzip (median / max) | {kb(ours['bytes_per_filter_change']['median_wire'])} / "
        f"{kb(ours['bytes_per_filter_change']['max_wire'])} | {kb(naive['bytes_per_filter_change']['median_wire'])} "
        f"| ≤ {TARGET_KB} KB |",
        f"| bytes per filter change, uncompressed (median / max) | "
        f"{kb(ours['bytes_per_filter_change']['median_uncompressed'])} / "
        f"{kb(ours['bytes_per_filter_change']['max_uncompressed'])} | "
        f"{kb(naive['bytes_per_filter_change']['median_uncompressed'])} | ≤ {TARGET_KB} KB |",
        f"| naive ÷ app bytes (gzip / uncompressed) | {result['ratio_naive_to_app']['wire']}× / "
        f"{result['ratio_naive_to_app']['uncompressed']}× | | ≥ {TARGET_RATIO}× |",
        f"| server time, naive figure callback (median / p95) | | {naive['callback']['median_ms']} / "
        f"{naive['callback']['p95_ms']} ms | |",
        f"| geometry, once per level per browser session (gzip / uncompressed) | "
        f"{kb(ours['geometry_once_per_level']['wire_bytes'])} / "
        f"{kb(ours['geometry_once_per_level']['uncompressed_bytes'])} | (in every response) | |",
        "",
        "| callback (server) | median ms | p95 ms | median bytes gzip | median bytes uncompressed |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, c in ours["callbacks"].items():
        lines.append(f"| {name} | {c['median_ms']} | {c['p95_ms']} | {c['median_wire_bytes']:,.0f} | "
                     f"{c['median_uncompressed_bytes']:,.0f} |")
    lines.append("")
    lines.append("Meets targets: " + ", ".join(f"{k} {'yes' if v else 'NO'}" for k, v in result["meets_targets"].items()))
    return "\n".join(lines)


if __name__ == "__main__":
    main()
