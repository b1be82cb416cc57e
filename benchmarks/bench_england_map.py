"""England's maps at full depth (issue 15, point 4): geometry once, then values only.

Server (in-process, Flask's test client, as benchmarks/bench_app.py):
- each level's boundaries as the browser first fetches them (explorer.app.geometry: gzip bytes,
  uncompressed bytes, the first request's serialise + gzip, a later request's time, the 304 of a
  revalidation), and what the replaced design cost per send: the payload through Dash's JSON
  encoder and the response gzip, on every request (CPU seconds and memory);
- an LSOA map of the largest ICS by LSOAs (NHS North East and North Cumbria, 1,889 LSOAs): bytes
  and p95 server time per filter change (the callbacks one change triggers, bench_app's sequence).

Browser (headless Chromium with software WebGL, tests/browser_support.py; the app served on
loopback): the whole-England LSOA layer (33,755 areas) and the largest ICS's LSOAs: time to the
first drawn map, the geometry fetch (wire bytes, time), JSON.parse of the payload, plotly's draw,
a recolour (plotly.restyle of the classes, and a whole palette change through the app), and a
second page load (the boundaries revalidated from the HTTP cache).

Needs an England bundle and records covering the largest ICS in EXPLORER_DATA_DIR (the full demo,
or `explorer data synth --region england --ics E54000050`).

    python benchmarks/bench_england_map.py [--changes 20] [--no-browser]

Writes benchmarks/results/england_map.json and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import gzip
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bench_app import (
    FILTER_CALLBACKS,
    _summary,
    control_values,
    filter_sequence,
    geometry_once,
)
from explorer.app import ids
from explorer.app.factory import create_app
from explorer.app.geometry import browser_geometry
from explorer.app.probe import CallbackProbe, key
from explorer.app.state import MapView
from explorer.config import load_settings
from explorer.services.app_data import AppData

RESULTS_DEFAULT = Path(__file__).resolve().parent / "results" / "england_map.json"
RESULTS = RESULTS_DEFAULT  # --results
ROLE = "analyst"  # the role that sees LSOAs unrounded (the heaviest values)
METRIC = "coverage"


def largest_ics(data: AppData) -> tuple[str, str, int]:
    """(code, name, LSOAs mapped in it): the ICS with the most LSOAs, counted as the map draws
    them (each LSOA in its majority PCN, whose place and ICS may differ from the LSOA's own)."""
    counts = data.bundle.lsoas.groupby("ics_code").size().sort_values(kind="stable")
    code = str(counts.index[-1])
    return code, data.name_of(code), len(data.codes_within("lsoa", code))


def naive_send_cost(data: AppData, level: str, sends: int = 3) -> dict:
    """The replaced design: the payload dict through Dash's JSON encoder and the response gzip on
    every send (CPU seconds per send, and the resident memory the level's dict holds)."""
    from plotly.io.json import to_json_plotly

    rss0 = rss_mb()
    started = time.perf_counter()
    payload = browser_geometry(data.geometry[level].payload())  # builds the GeoJSON dict (kept in memory)
    built = time.perf_counter() - started
    held = rss_mb() - rss0
    cpu = []
    for _ in range(sends):
        t0 = time.process_time()
        body = to_json_plotly({"response": {"geometry": {"data": payload}}}).encode()
        gzip.compress(body, compresslevel=5)  # explorer.app.factory.install_compression
        cpu.append(time.process_time() - t0)
    return {"dict_build_seconds": round(built, 2), "cpu_seconds_per_send": round(statistics.median(cpu), 2),
            "dict_resident_mb": round(held)}


def rss_mb() -> float:
    """This process's resident memory now (Linux /proc), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def filter_changes(data: AppData, area: str, changes: int) -> dict:
    """Bytes and server time of each filter change on the LSOA map within `area` (bench_app's calls)."""
    app = create_app(data.settings, data.region, demo_role=ROLE, data=data, warm=False)
    probe = CallbackProbe.for_flask(app.server.test_client())
    base = MapView(level="lsoa", metric=METRIC, area=area)
    per_callback: dict[str, list] = {name: [] for name in FILTER_CALLBACKS}
    wire, raw, change_ms = [], [], []
    previous = base
    for flt in filter_sequence(changes):
        view = base.with_(filters=flt)
        stored = {key(ids.MAP_VIEW, "data"): view.to_store()}
        calls = {"hub": probe.call(FILTER_CALLBACKS["hub"], {
            **control_values(view), key(ids.MAP_VIEW, "data"): previous.to_store(),
            key(ids.MAP_URL, "search"): previous.to_search(), key(ids.MAP_URL, "pathname"): "/",
            key(ids.MAP_GRAPH, "clickData"): None, key(ids.MAP_AREA_PICKER, "value"): None},
            [key(ids.map_control("age_band"), "value")], wildcard_ids={ids.CRUMB_TYPE: []})}
        calls["values"] = probe.call(FILTER_CALLBACKS["values"], stored, [key(ids.MAP_VIEW, "data")])
        calls["navigation"] = probe.call(FILTER_CALLBACKS["navigation"], {
            **stored, key(ids.MAP_NAV_KEY, "data"): f"lsoa|{area}"}, [key(ids.MAP_VIEW, "data")])
        calls["selection"] = probe.call(FILTER_CALLBACKS["selection"], stored, [key(ids.MAP_VIEW, "data")])
        calls["table_columns"] = probe.call(FILTER_CALLBACKS["table_columns"], stored, [key(ids.MAP_VIEW, "data")])
        calls["table"] = probe.call(FILTER_CALLBACKS["table"], {
            **stored, key(ids.MAP_TABLE, "getRowsRequest"): {"startRow": 0, "endRow": 15, "sortModel": []}},
            [key(ids.MAP_TABLE, "getRowsRequest")])
        for name, result in calls.items():
            if result.status not in (200, 204):
                raise RuntimeError(f"{name} answered {result.status}")
            per_callback[name].append(result)
        wire.append(sum(r.wire_bytes for r in calls.values()))
        raw.append(sum(r.raw_bytes for r in calls.values()))
        change_ms.append(sum(r.seconds for r in calls.values()) * 1000)
        previous = view
    return {"area": area, "filter_changes": changes,
            "bytes_per_filter_change": {"median_wire": statistics.median(wire), "max_wire": max(wire),
                                        "median_uncompressed": statistics.median(raw)},
            "server_ms_per_filter_change": {"median": round(statistics.median(change_ms), 1),
                                            "p95": round(float(np.percentile(change_ms, 95)), 1)},
            "callbacks": {name: _summary(results) for name, results in per_callback.items()}}


# --------------------------------------------------------------------------- the browser

_NEXT_IDLE = """
// after arguments[0] ('restyle', 'newplot' or 'click' on arguments[1]): ms until the map's last frame
// (MapLibre 'render' events, then 1 s without one)
const done = arguments[arguments.length - 1];
const what = arguments[0];
const gd = document.querySelector('#map-graph .js-plotly-plot');
const t0 = performance.now();
let last = null;
let hooked = null;
const hook = () => {
  const sub = gd._fullLayout && gd._fullLayout.map && gd._fullLayout.map._subplot;
  if (sub && sub.map && sub.map !== hooked) {
    hooked = sub.map;
    hooked.on('render', () => { last = performance.now(); });
  }
};
hook();
const poll = setInterval(() => {
  hook();
  const now = performance.now();
  if ((last !== null && now - last > 1000 && last > t0) || now - t0 > 100000) {
    clearInterval(poll);
    done(last === null ? null : Math.round(last - t0));
  }
}, 100);
if (what === 'newplot') {
  const data = gd.data, layout = gd.layout, config = gd._context;  // purge empties them
  Plotly.purge(gd);
  Plotly.newPlot(gd, data, layout, config).then(hook);
} else if (what === 'restyle') {
  const z = Array.from(gd.data[0].z, (v, i) => (v < 0 ? v : (v + 1 + (i % 2)) % 5));
  Plotly.restyle(gd, {z: [z]});
} else {
  arguments[1].click();
}
"""
_PARSE = """
const done = arguments[arguments.length - 1];
(async () => {
  const r = await fetch(arguments[0], {credentials: 'same-origin'});
  const text = await r.text();
  const t0 = performance.now();
  const geo = JSON.parse(text);
  done({parse_ms: performance.now() - t0, chars: text.length, features: geo.geojson.features.length});
})();
"""
_GEOMETRY_ENTRY = """
const e = performance.getEntriesByType('resource').filter(x => x.name.includes('/_geometry/lsoa'));
const last = e[e.length - 1];
return last ? {transfer: last.transferSize, decoded: last.decodedBodySize, ms: last.responseEnd - last.startTime,
               status: last.responseStatus || null} : null;
"""


def browser_view(driver, base: str, query: str, areas: int) -> dict:
    """One LSOA map in a fresh page: first draw, geometry fetch, parse, draw, recolours, reload."""
    from selenium.webdriver.common.by import By

    from explorer.app.components import dom_id
    from tests.browser_support import wait_for, wait_for_map

    driver.get(base + "/" + query)
    wait_for(driver, lambda d: len(d.execute_script(
        "const g = document.querySelector('#map-graph .js-plotly-plot');"
        "return g && g.data && g.data[0] ? g.data[0].locations || [] : []")) == areas, "every area drawn", 180)
    wait_for_map(driver, timeout=180)
    first = driver.execute_script("return performance.now()")
    fetched = driver.execute_script(_GEOMETRY_ENTRY)
    parse = driver.execute_async_script(_PARSE, base + "/_geometry/lsoa.json")
    draw = driver.execute_async_script(_NEXT_IDLE, "newplot")  # the figure plotted anew, from scratch
    restyle = driver.execute_async_script(_NEXT_IDLE, "restyle")  # new classes on the same shapes
    radio = driver.find_element(By.CSS_SELECTOR, f"[id='{dom_id(ids.map_control('palette'))}'] input[value='cividis']")
    palette = driver.execute_async_script(_NEXT_IDLE, "click", radio)  # through the app: values from the server
    driver.get(base + "/" + query)  # a second page load: boundaries from the HTTP cache (304)
    start = time.perf_counter()
    wait_for(driver, lambda d: len(d.execute_script(
        "const g = document.querySelector('#map-graph .js-plotly-plot');"
        "return g && g.data && g.data[0] ? g.data[0].locations || [] : []")) == areas, "every area drawn", 180)
    wait_for_map(driver, timeout=180)
    reload_seconds = time.perf_counter() - start
    again = driver.execute_script(_GEOMETRY_ENTRY)
    return {"query": query, "areas": areas, "first_map_ms_from_navigation": round(first),
            "geometry_fetch": fetched, "parse_ms": round(parse["parse_ms"]), "payload_chars": parse["chars"],
            "draw_ms": draw, "recolour_restyle_ms": restyle, "recolour_palette_change_ms": palette,
            "second_load": {"seconds_to_map_incl_0.5s_settle": round(reload_seconds, 1), "geometry_fetch": again}}


def measure_browser(data: AppData, ics: str, ics_lsoas: int, result: dict) -> dict:
    from tests.browser_support import serve_in_thread, start_chromium

    app = create_app(data.settings, data.region, demo_role=ROLE, data=data, warm=False)
    out = {}
    with serve_in_thread(app.server) as base:
        for name, query, areas in (("england_lsoa", "?level=lsoa&metric=imd_score", len(data.geometry["lsoa"].codes)),
                                   ("largest_ics_lsoa", f"?level=lsoa&metric={METRIC}&area={ics}", ics_lsoas)):
            driver = start_chromium()  # a fresh browser: an empty HTTP cache
            driver.set_script_timeout(180)
            try:
                out[name] = browser_view(driver, base, query, areas)
            except Exception as exc:  # noqa: BLE001 - keep the other view's figures
                out[name] = {"error": f"{type(exc).__name__}: {str(exc)[:300]}"}
            finally:
                driver.quit()
            RESULTS.write_text(json.dumps({**result, "browser": out}, indent=2))
    return out


def main() -> None:
    global RESULTS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=20)
    parser.add_argument("--no-browser", action="store_true")
    parser.add_argument("--results", type=Path, default=RESULTS_DEFAULT, help="where to write the JSON")
    args = parser.parse_args()
    RESULTS = args.results
    settings = load_settings()
    started = time.perf_counter()
    data = AppData.load(settings, "england")
    load_seconds = time.perf_counter() - started
    if data.levels != ("ics", "place", "pcn", "lsoa"):
        raise SystemExit(f"England offers {data.levels}, not every level")
    ics, ics_name, ics_lsoas = largest_ics(data)
    app = create_app(settings, "england", demo_role=ROLE, data=data, warm=False)
    client = app.server.test_client()
    client.get("/")  # Dash sets itself up at its first request: not a cost of the boundaries
    before = rss_mb()
    geometry = {level: geometry_once(client, level) for level in data.levels}
    encoded_mb = rss_mb() - before
    result = {
        "machine": f"{platform.machine()}, {platform.processor() or 'cpu'}, python {platform.python_version()}",
        "app_data_load_seconds": round(load_seconds, 1),
        "largest_ics": {"code": ics, "name": ics_name, "lsoas": ics_lsoas},
        "geometry_once_per_level": geometry,
        "resident_mb_after_encoding_every_level": round(encoded_mb),
        "replaced_design_per_send_lsoa": naive_send_cost(data, "lsoa"),
        "largest_ics_lsoa_map": filter_changes(data, ics, args.changes),
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2))  # the server's figures, whatever the browser does
    if not args.no_browser:
        result["browser"] = measure_browser(data, ics, ics_lsoas, result)
        RESULTS.write_text(json.dumps(result, indent=2))
    print(markdown(result))


def markdown(r: dict) -> str:
    kb = lambda b: f"{b / 1024:,.0f} KB"
    lines = ["| England map | figure |", "|---|---|"]
    for level, g in r["geometry_once_per_level"].items():
        lines.append(f"| {level} boundaries once (gzip / JSON; first request, later, revalidation) | "
                     f"{kb(g['wire_bytes'])} / {kb(g['uncompressed_bytes'])}; {g['server_ms_first']:,.0f} ms, "
                     f"{g['server_ms_after']:,.0f} ms, {g['revalidation_status']} with {g['revalidation_bytes']} bytes |")
    n = r["replaced_design_per_send_lsoa"]
    lines.append(f"| replaced design, LSOA layer per send (Dash JSON + gzip) | {n['cpu_seconds_per_send']} s CPU, "
                 f"dict {n['dict_build_seconds']} s, {n['dict_resident_mb']} MB resident |")
    m = r["largest_ics_lsoa_map"]
    lines.append(f"| {r['largest_ics']['name']} ({r['largest_ics']['lsoas']:,} LSOAs): bytes per filter change "
                 f"(median / max, gzip) | {kb(m['bytes_per_filter_change']['median_wire'])} / "
                 f"{kb(m['bytes_per_filter_change']['max_wire'])} |")
    lines.append(f"| same: server time per filter change (median / p95, all callbacks) | "
                 f"{m['server_ms_per_filter_change']['median']} / {m['server_ms_per_filter_change']['p95']} ms |")
    for name, b in r.get("browser", {}).items():
        if "error" in b:
            lines.append(f"| browser, {name} | failed: {b['error']} |")
            continue
        g = b["geometry_fetch"] or {}
        lines.append(f"| browser, {name} ({b['areas']:,} areas): first map from navigation; geometry fetch; "
                     f"parse; draw; recolour (restyle / palette via the app) | {b['first_map_ms_from_navigation']:,} ms; "
                     f"{g.get('ms', 0):,.0f} ms for {kb(g.get('transfer', 0))}; {b['parse_ms']} ms; {b['draw_ms']:,} ms; "
                     f"{b['recolour_restyle_ms']:,} / {b['recolour_palette_change_ms']:,} ms |")
        s = b["second_load"]
        lines.append(f"| browser, {name}: second page load (geometry transfer) | "
                     f"{s['seconds_to_map_incl_0.5s_settle']} s, {(s['geometry_fetch'] or {}).get('transfer', '?')} bytes |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
