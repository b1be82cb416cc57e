"""Load test: many people using the app at once, against a real gunicorn on loopback.

Starts `explorer serve --demo` (the data under EXPLORER_DATA_DIR; London by default) with the
worker count and class asked for, waits until it answers, then runs --users simulated people for
--duration seconds. Each person does what a person does in a browser, over HTTP exactly as the
Dash renderer does (explorer.app.probe.CallbackProbe on a requests session, cookies kept):

1. opens the map page: GET / (the HTML), /_dash-layout, /_dash-dependencies, the pages callback
   that returns the page's layout, the ICS boundaries (once per level and session), and the map's
   first view (values + legend, breadcrumb, selection card, first table page);
2. then, with a short think time (--think, seconds, uniform) between steps, a random sequence of
   - a metric change, a filter change (age band, sex, ethnic group, IMD quintile),
   - a drill-down (clicking an area: ICS -> place -> PCN, fetching that level's boundaries the
     first time), and back up to the region when at the bottom,
   - a visit to the outreach page (pages callback, then the ranked table) with a capacity change.
   Each map step is the hub callback followed by the callbacks its new view triggers.

Every request is timed from the client (so queueing in gunicorn is included). Reported per
request kind: count, median, p95 and max latency; overall throughput (requests/s over the test);
errors (any status other than 200/204, or an exception such as a timeout), which must be zero;
and the server's memory (sum of the gunicorn processes' RSS) before and at the end.

The load generator runs on the same 2-core machine as the server, so part of the CPU goes to the
client; the figures are a lower bound for the server alone.

    python benchmarks/loadtest.py [--users 50] [--duration 60] [--workers 2] [--threads 1]
                                  [--region london] [--port 8765] [--think 1.0 3.0]

Writes benchmarks/results/loadtest.json (one entry per worker configuration: re-running with other
--workers/--threads adds to it) and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import requests

from explorer.app.geometry import url_for_level
from explorer.app import ids
from explorer.app.pages.map import CONTROLS
from explorer.app.probe import CallbackProbe, key

RESULTS = Path(__file__).resolve().parent / "results" / "loadtest.json"
METRICS = ("coverage", "plans", "high_risk_without_plan", "completeness", "reviewed_in_period", "imd_score",
           "coverage_dsr", "high_risk_plan_coverage")
FILTERS = {"age_band": [[], ["65-74"], ["75-84"], ["85+"], ["75-84", "85+"]], "sex": [[], ["female"], ["male"]],
           "ethnic_group": [[], ["black"], ["asian"], ["white"]], "imd_quintile": [[], ["1"], ["1", "2"], ["5"]]}
DRILL = ("ics", "place", "pcn")  # the levels a person clicks through (LSOA: the analyst's detail)
ACTIONS = (("metric", 3), ("filter", 4), ("drill", 3), ("outreach", 1))


# --------------------------------------------------------------------------- the server


def gunicorn_processes(pid: int) -> list[int]:
    """The serve process (gunicorn master after exec) and its workers."""
    children = Path(f"/proc/{pid}/task/{pid}/children")
    kids = [int(p) for p in children.read_text().split()] if children.exists() else []
    return [pid, *kids]


def rss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return round(total / 1024, 1)


def start_server(region: str, port: int, workers: int, threads: int, timeout: float = 600) -> tuple[subprocess.Popen,
                                                                                                   float]:
    cmd = ["explorer", "serve", "--demo", "--region", region, "--port", str(port), "--workers", str(workers),
           "--threads", str(threads)]
    log = open(Path(os.environ.get("TMPDIR", "/tmp")) / f"loadtest-server-{port}.log", "w")  # noqa: SIM115
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    while time.perf_counter() - started < timeout:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited ({proc.returncode}); see {log.name}")
        try:
            if requests.get(base + "/_dash-dependencies", timeout=5).status_code == 200:
                # every worker has answered once (preloaded, so they are ready together)
                return proc, time.perf_counter() - started
        except requests.RequestException:
            pass
        time.sleep(0.5)
    stop_server(proc)
    raise SystemExit(f"the server did not answer within {timeout} s; see {log.name}")


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)  # our own session: gunicorn master and its workers
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


# --------------------------------------------------------------------------- a person


class Recorder:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.times: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, list[str]] = defaultdict(list)
        self.statuses: dict[str, set] = defaultdict(set)

    def add(self, kind: str, seconds: float, status: int | None, error: str | None = None) -> None:
        with self.lock:
            self.times[kind].append(seconds)
            if status is not None:
                self.statuses[kind].add(status)
            if error is not None or status not in (200, 204):
                self.errors[kind].append(error or f"HTTP {status}")


class Person:
    """One simulated user with a browser session."""

    def __init__(self, base: str, rec: Recorder, rng: random.Random, think: tuple[float, float], stop_at: float):
        self.base, self.rec, self.rng, self.think, self.stop_at = base, rec, rng, think, stop_at
        self.session = requests.Session()
        self.session.headers["Accept-Encoding"] = "gzip"
        self.probe: CallbackProbe | None = None
        self.geometry_seen: set[str] = set()
        self.view: dict[str, Any] = {}
        self.codes: dict[str, list[str]] = {}

    # ---- plumbing
    def get(self, kind: str, path: str) -> requests.Response | None:
        started = time.perf_counter()
        try:
            response = self.session.get(self.base + path, timeout=60)
        except requests.RequestException as exc:
            self.rec.add(kind, time.perf_counter() - started, None, type(exc).__name__)
            return None
        self.rec.add(kind, time.perf_counter() - started, response.status_code)
        return response

    def call(self, kind: str, output: str, values: dict, changed: list[str], wildcard: dict | None = None):
        try:
            result = self.probe.call(output, values, changed, wildcard)
        except requests.RequestException as exc:
            self.rec.add(kind, 0.0, None, type(exc).__name__)
            return None
        self.rec.add(kind, result.seconds, result.status)
        return result

    def pause(self) -> None:
        time.sleep(self.rng.uniform(*self.think))

    # ---- the map
    def controls(self, view: dict) -> dict:
        split = lambda name: [v for v in (view.get(name) or "").split(",") if v]
        values = {"level": view.get("level", "ics"), "metric": view.get("metric", "coverage"),
                  "mode": view.get("mode", "value"), "scheme": view.get("scheme", "quantile"),
                  "palette": view.get("palette", "viridis"), "age_band": split("age_band"), "sex": split("sex"),
                  "ethnic_group": split("ethnic_group"), "imd_quintile": split("imd_quintile"),
                  "frailty": split("frailty"), "risk": view.get("risk", "top_percent:10"), "only_high_risk": []}
        return {key(ids.map_control(name), "value"): values[name] for name in CONTROLS}

    def after_view(self, view: dict) -> None:
        """The callbacks a new map view triggers (and the level's boundaries the first time)."""
        level = view.get("level", "ics")
        if level not in self.geometry_seen:
            result = self.get("geometry", url_for_level(level))  # explorer.app.geometry: then the HTTP cache
            if result is not None and result.status_code == 200:
                self.geometry_seen.add(level)
        stored = {key(ids.MAP_VIEW, "data"): view}
        self.call("map_values", "map-values.data", stored, [key(ids.MAP_VIEW, "data")])
        self.call("map_navigation", "map-nav-key.data", {**stored, key(ids.MAP_NAV_KEY, "data"): None},
                  [key(ids.MAP_VIEW, "data")])
        self.call("map_selection", "map-selection.children", stored, [key(ids.MAP_VIEW, "data")])
        self.call("map_table", "map-table.getRowsResponse",
                  {**stored, key(ids.MAP_TABLE, "getRowsRequest"): {"startRow": 0, "endRow": 15, "sortModel": []}},
                  [key(ids.MAP_TABLE, "getRowsRequest")])

    def hub(self, values: dict, changed: str, click: dict | None = None) -> dict | None:
        body = {**values, key(ids.MAP_VIEW, "data"): self.view, key(ids.MAP_URL, "search"): None,
                key(ids.MAP_URL, "pathname"): "/", key(ids.MAP_GRAPH, "clickData"): click,
                key(ids.MAP_AREA_PICKER, "value"): None}
        result = self.call("map_hub", "map-view.data", body, [changed], {ids.CRUMB_TYPE: []})
        if result is None or result.status != 200:
            return None
        new = result.output(ids.MAP_VIEW, "data")
        if new:
            self.view = new
        return new

    def open_map(self) -> None:
        self.get("page_html", "/")
        self.get("page_layout", "/_dash-layout")
        started = time.perf_counter()
        try:
            self.probe = CallbackProbe.for_requests(self.session, self.base, timeout=60)
            self.rec.add("page_dependencies", time.perf_counter() - started, 200)
        except Exception as exc:
            self.rec.add("page_dependencies", time.perf_counter() - started, None, type(exc).__name__)
            raise
        self.page("/")
        self.view = {"level": "ics", "metric": "coverage"}
        self.after_view(self.view)

    def page(self, path: str) -> None:
        loc = "_pages_location"
        self.call("page_content", "_pages_content.children", {key(loc, "pathname"): path, key(loc, "search"): ""},
                  [key(loc, "pathname")])

    def change_metric(self) -> None:
        values = self.controls(self.view)
        values[key(ids.map_control("metric"), "value")] = self.rng.choice(METRICS)
        if self.hub(values, key(ids.map_control("metric"), "value")):
            self.after_view(self.view)

    def change_filter(self) -> None:
        name = self.rng.choice(list(FILTERS))
        values = self.controls(self.view)
        values[key(ids.map_control(name), "value")] = self.rng.choice(FILTERS[name])
        if self.hub(values, key(ids.map_control(name), "value")):
            self.after_view(self.view)

    def drill(self) -> None:
        values = self.controls(self.view)
        level = self.view.get("level", "ics")
        codes = self.codes.get(f"{level}|{self.view.get('area', '')}")
        if level == DRILL[-1] or not codes:  # at the bottom (or nothing to click): back to the region
            values[key(ids.map_control("level"), "value")] = "ics"
            if self.hub(values, key(ids.map_control("level"), "value")):
                self.after_view(self.view)
            return
        click = {"points": [{"location": self.rng.choice(codes)}]}
        if self.hub(values, key(ids.MAP_GRAPH, "clickData"), click):
            self.after_view(self.view)

    def outreach(self) -> None:
        self.page("/outreach")
        view = {"level": "pcn", "capacity": "10000"}
        self.call("outreach_ranking", "outreach-summary.children", {key(ids.OUT_VIEW, "data"): view},
                  [key(ids.OUT_VIEW, "data")])
        self.pause()
        capacity = self.rng.choice([2000, 5000, 20000])
        result = self.call("outreach_hub", "outreach-view.data", {
            key(ids.OUT_LEVEL, "value"): "pcn", key(ids.OUT_RISK, "value"): "top_percent:10",
            key(ids.OUT_RANK_BY, "value"): "high_risk_without_plan", key(ids.OUT_CAPACITY, "value"): capacity,
            key(ids.OUT_URL, "search"): None, key(ids.OUT_VIEW, "data"): view,
            key(ids.OUT_URL, "pathname"): "/outreach"}, [key(ids.OUT_CAPACITY, "value")])
        if result is not None and result.body:
            self.call("outreach_ranking", "outreach-summary.children",
                      {key(ids.OUT_VIEW, "data"): result.output(ids.OUT_VIEW, "data")}, [key(ids.OUT_VIEW, "data")])
        self.pause()
        self.page("/")  # back to the map, where the view is restored from the stores
        self.after_view(self.view)

    def run(self, area_codes: dict[str, list[str]]) -> None:
        self.codes = area_codes
        try:
            self.open_map()
        except Exception:  # noqa: BLE001 - recorded; this person gives up
            return
        names, weights = zip(*ACTIONS)
        while time.perf_counter() < self.stop_at:
            self.pause()
            if time.perf_counter() >= self.stop_at:
                break
            action = self.rng.choices(names, weights)[0]
            try:
                getattr(self, {"metric": "change_metric", "filter": "change_filter", "drill": "drill",
                               "outreach": "outreach"}[action])()
            except Exception as exc:  # noqa: BLE001 - a broken response body, say; recorded, carry on
                self.rec.add(f"{action}_client", 0.0, None, f"{type(exc).__name__}: {exc}")


def area_codes(region: str) -> dict[str, list[str]]:
    """What a click can hit: "<level>|<area shown within>" -> the codes of the areas drawn there."""
    from explorer.bundle.store import load_bundle
    from explorer.config import load_settings

    areas = load_bundle(load_settings(), region).areas
    out: dict[str, list[str]] = {"ics|": sorted(areas.loc[areas["level"] == "ics", "area_code"])}
    for child in ("place", "pcn"):
        for parent, group in areas[areas["level"] == child].groupby("parent_code"):
            out[f"{child}|{parent}"] = sorted(group["area_code"])
    return out


# --------------------------------------------------------------------------- the run


def summarise(rec: Recorder, seconds: float) -> dict:
    kinds = {}
    for kind, times in sorted(rec.times.items()):
        ms = np.asarray(times) * 1000
        kinds[kind] = {"requests": len(times), "median_ms": round(float(np.median(ms)), 1),
                       "p95_ms": round(float(np.percentile(ms, 95)), 1), "max_ms": round(float(ms.max()), 1),
                       "errors": len(rec.errors.get(kind, [])), "statuses": sorted(rec.statuses.get(kind, set()))}
    total = sum(len(t) for t in rec.times.values())
    all_ms = np.concatenate([np.asarray(t) for t in rec.times.values()]) * 1000 if total else np.zeros(1)
    return {"requests": total, "seconds": round(seconds, 1), "throughput_rps": round(total / seconds, 1),
            "median_ms": round(float(np.median(all_ms)), 1), "p95_ms": round(float(np.percentile(all_ms, 95)), 1),
            "errors": sum(len(e) for e in rec.errors.values()),
            "error_examples": {k: v[:3] for k, v in rec.errors.items() if v}, "by_kind": kinds}


def run(args: argparse.Namespace) -> dict:
    by_click = area_codes(args.region)
    proc, start_seconds = start_server(args.region, args.port, args.workers, args.threads)
    try:
        pids = gunicorn_processes(proc.pid)
        idle_rss = rss_mb(pids)
        rec = Recorder()
        base = f"http://127.0.0.1:{args.port}"
        started = time.perf_counter()
        stop_at = started + args.duration
        peak = [idle_rss]

        def watch() -> None:
            while time.perf_counter() < stop_at + 5:
                peak[0] = max(peak[0], rss_mb(gunicorn_processes(proc.pid)))
                time.sleep(1)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        people = []
        for n in range(args.users):
            person = Person(base, rec, random.Random(args.seed * 1000 + n), tuple(args.think), stop_at)
            thread = threading.Thread(target=person.run, args=(by_click,), daemon=True)
            people.append(thread)
            thread.start()
            time.sleep(args.ramp / max(args.users, 1))  # people arrive over the first --ramp seconds
        for thread in people:
            thread.join(timeout=args.duration + 120)
        seconds = time.perf_counter() - started
        summary = summarise(rec, seconds)
        summary.update({"server_rss_mb_idle": idle_rss, "server_rss_mb_peak": peak[0],
                        "server_start_seconds": round(start_seconds, 1)})
        return summary
    finally:
        stop_server(proc)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1, help="threads per worker (> 1: gthread workers)")
    parser.add_argument("--region", default="london")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--think", type=float, nargs=2, default=(1.0, 3.0), metavar=("MIN", "MAX"),
                        help="think time between a person's steps, seconds (uniform)")
    parser.add_argument("--ramp", type=float, default=5.0, help="seconds over which people arrive")
    parser.add_argument("--seed", type=int, default=20261122)
    args = parser.parse_args(argv)

    result = run(args)
    config = f"{args.workers}x{'gthread' if args.threads > 1 else 'sync'}" + (
        f"x{args.threads}" if args.threads > 1 else "")
    entry = {
        "region": args.region, "users": args.users, "duration_seconds": args.duration,
        "think_seconds": list(args.think), "ramp_seconds": args.ramp,
        "workers": args.workers, "worker_class": "gthread" if args.threads > 1 else "sync",
        "threads_per_worker": args.threads,
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0], "platform": platform.platform()},
        "measured_at": time.strftime("%Y-%m-%d %H:%M:%S"),
        **result,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    kept = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    kept[config] = entry
    RESULTS.write_text(json.dumps(kept, indent=2) + "\n")
    print(markdown(config, entry))
    return entry


def markdown(config: str, e: dict) -> str:
    lines = [f"### Load test: {e['users']} people for {e['duration_seconds']:.0f} s, {e['region']}, "
             f"gunicorn {e['workers']} {e['worker_class']} worker(s)"
             + (f" x {e['threads_per_worker']} threads" if e['threads_per_worker'] > 1 else ""),
             "",
             (f"{e['requests']:,} requests, {e['throughput_rps']} requests/s, median {e['median_ms']} ms, "
              f"p95 {e['p95_ms']} ms, errors {e['errors']}; server RSS {e['server_rss_mb_idle']:,} MB idle, "
              f"{e['server_rss_mb_peak']:,} MB peak; started in {e['server_start_seconds']} s"),
             "",
             "| request | count | median ms | p95 ms | max ms | errors |",
             "|---|---:|---:|---:|---:|---:|"]
    for kind, k in e["by_kind"].items():
        lines.append(f"| {kind} | {k['requests']:,} | {k['median_ms']} | {k['p95_ms']} | {k['max_ms']} | "
                     f"{k['errors']} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
