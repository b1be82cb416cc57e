"""Roles are enforced by the server on every path out of the app, whatever a request asks for.

The app runs with sign-in (not demo). Each role signs in through the real /login form (CSRF
included) and then posts to /_dash-update-component exactly as the browser does
(explorer.app.probe), including forged requests the browser would never send.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from explorer.app import ids
from explorer.app.geometry import url_for_level
from explorer.app.pages import PAGES, inequalities
from explorer.app.pages import map as map_page
from explorer.app.probe import ENDPOINT, CallbackProbe, key
from explorer.app.state import MapView, OutreachView, ProfileView
from explorer.app.state_spc import SpcView
from explorer.auth import users
from explorer.domain.access import Role
from explorer.domain.disclosure import DisclosurePolicy
from explorer.domain.metrics import Filters

PASSWORD = "correct horse battery staple"
NON_ANALYST = ("commissioner", "strategist", "social_care")
SMALL = Filters(age_band=("85+",), ethnic_group=("other",))  # makes many cells of 1-7 people
MAP_ROWS = ids.MAP_TABLE + ".getRowsResponse"  # the map grid's page-of-rows callback
PAGE_1 = {"startRow": 0, "endRow": 15, "sortModel": []}
COUNT_HEADER = re.compile(r"numerator|denominator|people|population|gap[ _]count|cumulative|reached", re.IGNORECASE)
NOT_A_COUNT = re.compile(r"%|per |expected", re.IGNORECASE)
NUMBER = re.compile(r"^\s*(\d[\d,]*(?:\.\d+)?)")


# --------------------------------------------------------------------------- app and sign-in


@pytest.fixture(scope="module")
def signed_app(settings, london_app_data, tmp_path_factory):
    """The London app with sign-in, one user per role in a temporary users file, its own audit log."""
    from explorer.app.factory import create_app

    home = tmp_path_factory.mktemp("app-roles")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("EXPLORER_USERS_FILE", str(home / "users.json"))
        mp.setenv("EXPLORER_AUDIT_LOG", str(home / "audit.log"))
        for role in Role:
            users.add_user(settings, f"user_{role.value}", role, PASSWORD)
        app = create_app(settings, "london", data=london_app_data, warm=False)
        yield app, home / "audit.log"


def sign_in(app, role: str):
    client = app.server.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    response = client.post("/login", data={"username": f"user_{role}", "password": PASSWORD, "csrf": token})
    assert response.status_code == 302, f"sign-in as {role} failed"
    return client


@pytest.fixture(scope="module")
def clients(signed_app) -> dict[str, Any]:
    app, _ = signed_app
    return {role.value: sign_in(app, role.value) for role in Role}


@pytest.fixture(scope="module")
def deps(clients) -> list[dict]:
    probe = CallbackProbe.for_flask(clients["analyst"])
    return [d for d in probe.dependencies if not d.get("clientside_function")]


def post(client, dep: dict, values: dict, changed: list[str] | None = None, wildcard: dict | None = None):
    probe = CallbackProbe(lambda p: client.get(p), lambda p, b, h: client.post(p, data=b, headers=h))
    first = dep["inputs"][0]
    ident = json.loads(first["id"]) if first["id"].startswith("{") else first["id"]
    body = probe.request_body(dep, values, changed or [key(ident, first["property"])], wildcard)
    response = client.post(ENDPOINT, data=json.dumps(body), headers={"Content-Type": "application/json"})
    return response


def dep_for(deps: list[dict], output: str) -> dict:
    found = [d for d in deps if output in d["output"]]
    assert len(found) == 1, output
    return found[0]


def body(response) -> Any:
    return json.loads(response.get_data(as_text=True)) if response.status_code == 200 else None


# --------------------------------------------------------------------------- the leak detector


def _count(text: Any) -> float | None:
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return float(text)
    m = NUMBER.match(str(text))
    return float(m.group(1).replace(",", "")) if m else None


class Leaks:
    """Walks response JSON and checks every count a person could read: table cells under count
    headers, Numerator/Denominator in hover and selection panels, 'n / d' cells, figure hovers and
    people axes, the map's values for count metrics, CSV downloads."""

    def __init__(self) -> None:
        self.checked = 0
        self.found: list[str] = []
        self.figures = 0
        self.official_figures = 0
        self.unmarked: list[str] = []  # figures of synthetic data not saying so, or official ones saying so

    def number(self, value: Any, where: str) -> None:
        n = _count(value)
        if n is None:
            return
        self.checked += 1
        if 0 < abs(n) < 8:
            self.found.append(f"{where}: {value!r}")

    def table(self, columns: list[dict], rows: list[dict], where: str) -> None:
        for col in columns:
            name = str(col.get("name", col.get("id")))
            if COUNT_HEADER.search(name) and not NOT_A_COUNT.search(name):
                for row in rows:
                    self.number(row.get(col["id"], ""), f"{where} [{name}]")

    def csv(self, text: str, where: str) -> None:
        lines = [line for line in text.splitlines() if not line.startswith("#")]
        rows = list(csv.DictReader(lines))
        assert rows, f"{where}: empty CSV"
        self.table([{"id": c, "name": c} for c in rows[0]], rows, where)

    def figure(self, fig: dict, where: str, *, official: bool = False) -> None:
        """`official`: a chart of official statistics (Census, ONS), which must not say SYNTHETIC."""
        layout = fig.get("layout") or {}
        if fig.get("data"):
            self.figures += 1
            self.official_figures += official
            if ("SYNTHETIC DATA" in json.dumps(layout.get("title"))) == official:
                self.unmarked.append(where)
        xtitle = ((layout.get("xaxis") or {}).get("title") or {})
        xtitle = xtitle.get("text", "") if isinstance(xtitle, dict) else str(xtitle)
        for trace in fig.get("data") or []:
            template = str(trace.get("hovertemplate", ""))
            for text in trace.get("customdata") or []:
                if not isinstance(text, str):
                    continue
                for num, den in re.findall(r"<br>(\*|[\d,]+) of ([\d,]+)", text):
                    self.number(num, f"{where} hover numerator")
                    self.number(den, f"{where} hover denominator")
                for n in re.findall(r"\(([\d,]+) people\)", text):
                    self.number(n, f"{where} hover people")
                if "%{customdata} people" in template:
                    self.number(text, f"{where} hover people")
            if xtitle == "People":
                for x in trace.get("x") or []:
                    if x is not None:
                        self.number(abs(float(x)), f"{where} x (people)")

    def walk(self, node: Any, where: str) -> None:
        if isinstance(node, dict):
            props = node.get("props") if isinstance(node.get("props"), dict) else None
            if node.get("type") == "Tr" and "LSOAs" in json.dumps(props):
                return  # a share of LSOAs: 'n / d' counts areas, not people
            if props is not None:
                if "columnDefs" in props and "rowData" in props and props["columnDefs"]:  # an AG Grid
                    self.table(grid_columns(props["columnDefs"]), props["rowData"] or [],
                               f"{where} table {props.get('id')}")
                if node.get("type") == "Dl":
                    kids = props.get("children") or []
                    for dt, dd in zip(kids[::2], kids[1::2]):
                        term = dt.get("props", {}).get("children")
                        if term in ("Numerator", "Denominator"):
                            self.number(dd.get("props", {}).get("children"), f"{where} {term}")
                if isinstance(props.get("figure"), dict):
                    self.figure(props["figure"], f"{where} figure {props.get('id')}",
                                official=str(props.get("id", "")).startswith(
                                    (ids.PROFILE_POPULATION, ids.NEIGHBOURS_GRAPH)))
            for value in node.values():
                self.walk(value, where)
        elif isinstance(node, list):
            for value in node:
                self.walk(value, where)
        elif isinstance(node, str):
            m = re.fullmatch(r"\s*(\*|[\d,]+) / (\*|[\d,]+)\s*", node)
            if m:
                self.number(m.group(1), f"{where} counts")
                self.number(m.group(2), f"{where} counts")

    def response(self, payload: dict, where: str, *, count_metric: bool = False) -> None:
        outputs = payload.get("response", {})
        outreach = outputs.get(ids.OUT_TABLE, {})  # a grid refilled by rowData + columnDefs outputs
        if "rowData" in outreach and "columnDefs" in outreach:
            self.table(grid_columns(outreach["columnDefs"]), outreach["rowData"], f"{where} {ids.OUT_TABLE}")
        block = outputs.get(ids.MAP_TABLE, {}).get("getRowsResponse")  # one page of the map's grid
        if block:
            self.table(MAP_COUNT_COLUMNS + ([{"id": "value", "name": "value (people)"}] if count_metric else []),
                       block["rowData"], f"{where} {ids.MAP_TABLE}")
        values = outputs.get(ids.MAP_VALUES, {}).get("data")
        if values:
            self.figures += 1
            if values.get("synthetic") is not True:  # the map's figure is drawn from these in the browser
                self.unmarked.append(f"{where} map values")
        if count_metric and values:
            for v in values.get("v") or []:
                if v is not None:
                    self.number(v, f"{where} map value")
        legend = outputs.get(ids.MAP_LEGEND, {}).get("children")
        if count_metric and legend:  # class edges of a count metric are numbers of people too
            for label in legend_labels(legend):
                for number in re.findall(r"\d[\d,]*(?:\.\d+)?", label):
                    self.number(number, f"{where} legend '{label}'")
        download = outputs.get(ids.OUT_DOWNLOAD, {}).get("data")
        if download:
            self.csv(download["content"], f"{where} CSV")
        spc_csv = outputs.get(ids.SPC_DOWNLOAD, {}).get("data")
        if spc_csv and count_metric:  # the XmR table's value column is the metric itself
            self.csv(spc_csv["content"].replace("\nmonth,value,", "\nmonth,value people,", 1), f"{where} SPC CSV")
        self.walk(outputs, where)


MAP_COUNT_COLUMNS = [{"id": "numerator", "name": "Numerator"}, {"id": "denominator", "name": "Denominator"}]


def grid_columns(column_defs: list[dict]) -> list[dict]:
    """An AG Grid's columnDefs as [{"id", "name"}] (field, header)."""
    return [{"id": c["field"], "name": c.get("headerName", c["field"])} for c in column_defs]


def legend_labels(node: Any) -> list[str]:
    """The text of every class label (`legend-label` spans) in a legend's component JSON."""
    if isinstance(node, list):
        return [label for child in node for label in legend_labels(child)]
    if not isinstance(node, dict):
        return []
    props = node.get("props") or {}
    if props.get("className") == "legend-label":
        return [str(props.get("children", ""))]
    return legend_labels(props.get("children"))


def summarise(found: list[str]) -> str:
    """Leaks grouped by where they were found (area codes dropped), most frequent first."""
    from collections import Counter

    groups = Counter(re.sub(r"hover \S+ |: '.*'$", "", f) for f in found)
    return "\n".join(f"{n:5d} x {where}" for where, n in groups.most_common(40))


# --------------------------------------------------------------------------- realistic inputs


def small_codes(data, level: str, metric: str, filters: Filters, n: int = 4) -> list[str]:
    """Areas whose raw numerator is 1-7 people under `filters` (what a leak would show), plus one other."""
    raw = data.raw_table(level, metric, filters, None)
    num = raw[f"{metric}_numerator"].astype(float)
    small = raw.loc[(num > 0) & (num < 8), "area_code"].astype(str).tolist()[:n]
    return small + [str(raw["area_code"].iloc[0])]


def scenario_values(data, role: str, view: MapView, profile: ProfileView, ineq: MapView, out: OutreachView,
                    page: str, page_search: str, hover: str | None) -> dict:
    cv = map_page.control_values(view)
    values = {key(ids.map_control(k), "value"): v for k, v in cv.items()}
    point = {"points": [{"location": hover}]} if hover else None
    spc = SpcView(area=profile.area, metric=profile.metric, filters=profile.filters, target=10.0)
    values.update({
        key(ids.MAP_VIEW, "data"): view.to_store(), key(ids.MAP_URL, "search"): view.to_search(),
        key(ids.MAP_URL, "pathname"): "/", key(ids.MAP_GRAPH, "clickData"): None,
        key(ids.MAP_GRAPH, "hoverData"): point, key(ids.MAP_AREA_PICKER, "value"): None,
        key(ids.MAP_NAV_KEY, "data"): None,
        key(ids.MAP_TABLE, "getRowsRequest"): {"startRow": 0, "endRow": 15,
                                               "sortModel": [{"colId": "numerator", "sort": "asc"}]},
        key(ids.PROFILE_VIEW, "data"): profile.to_query(), key(ids.PROFILE_URL, "search"): profile.to_search(),
        key(ids.PROFILE_URL, "pathname"): "/profile", key(ids.PROFILE_AREA, "value"): profile.area,
        key(ids.PROFILE_METRIC, "value"): profile.metric, key(ids.PROFILE_GROUPS, "value"): profile.groups,
        key(ids.PROFILE_AREA_SEARCH, "value"): "london",
        key(ids.INEQ_VIEW, "data"): ineq.to_store(), key(ids.INEQ_URL, "search"): ineq.to_search(),
        key(ids.INEQ_URL, "pathname"): "/inequalities", key(ids.INEQ_METRIC, "value"): ineq.metric,
        key(ids.INEQ_LEVEL, "value"): ineq.level,
        key(ids.OUT_VIEW, "data"): out.to_query(), key(ids.OUT_URL, "search"): out.to_search(),
        key(ids.OUT_URL, "pathname"): "/outreach", key(ids.OUT_LEVEL, "value"): out.level,
        key(ids.OUT_RISK, "value"): "top_percent:10", key(ids.OUT_RANK_BY, "value"): out.rank_by,
        key(ids.OUT_CAPACITY, "value"): out.capacity, key(ids.OUT_DOWNLOAD_BUTTON, "n_clicks"): 1,
        key(ids.OUT_AREA, "value"): out.area or "", key(ids.OUT_WHATIF_RANK, "value"): out.whatif,
        key(ids.SPC_VIEW, "data"): spc.to_query(), key(ids.SPC_URL, "search"): spc.to_search(),
        key(ids.SPC_URL, "pathname"): "/spc", key(ids.SPC_AREA, "value"): spc.area or data.region_code,
        key(ids.SPC_METRIC, "value"): spc.metric, key(ids.SPC_TARGET, "value"): spc.target,
        key(ids.SPC_BASELINE, "value"): "", key(ids.SPC_REBASE, "value"): "",
        key(ids.SPC_AREA_SEARCH, "value"): "london", key(ids.SPC_DOWNLOAD_BUTTON, "n_clicks"): 1,
        key("_pages_location", "pathname"): page, key("_pages_location", "search"): page_search,
        # search, pyramid and nearest neighbours (issue 16): the small-cell PCN, practices and areas
        key(ids.SEARCH_INPUT, "value"): "surgery", key(ids.PYRAMID_SEARCH, "value"): "london",
        key(ids.PYRAMID_AREA, "value"): profile.area or data.region_code,
        key(ids.NEIGHBOURS_AREA, "value"): profile.area or str(data.geometry["place"].codes[0]),
    })
    return values


def scenarios(data, role: str) -> Iterator[tuple[str, dict, bool]]:
    """(name, values, count metric?) for a default view and small-cell views at the lowest level."""
    from explorer.domain.access import policy_for

    levels = policy_for(role).levels
    lowest = levels[-1]
    default = MapView(level=levels[0], metric=data.default_metric())
    yield ("default", scenario_values(
        data, role, default, ProfileView(metric="coverage"), inequalities._view(data, {}, levels),
        OutreachView(level="pcn"), "/", "", None), False)
    for metric in ("coverage", "plans", "high_risk_without_plan"):
        view = MapView(level=lowest, metric=metric, filters=SMALL)
        codes = small_codes(data, lowest, metric, SMALL)
        pcn = small_codes(data, "pcn", "plans", SMALL, 1)[0]
        profile = ProfileView(area=pcn, metric=metric, filters=SMALL)
        ineq = inequalities._view(data, {"level": lowest, "metric": metric, **SMALL.to_query()}, levels)
        out = OutreachView(level="pcn", filters=SMALL, capacity=1003, area=str(data.geometry["ics"].codes[0]),
                           whatif="deprivation_gap")  # the what-if panel on small cells, with a parent
        for i, code in enumerate(codes[:2] if metric != "coverage" else codes):
            pages = [p.PATH for p in PAGES]
            page = pages[i % len(pages)]
            yield (f"{metric}@{lowest} hover {code}", scenario_values(
                data, role, view.with_(selected=None), profile, ineq, out, page,
                view.to_search() if page == "/" else profile.to_search(), code),
                data.metric(metric).kind == "count")


EXPECTED_REFUSALS = {  # (role, output) -> why the role gets 403 for a well-formed request
    ("strategist", "outreach"): "no outreach", ("social_care", "outreach"): "no outreach",
}


# --------------------------------------------------------------------------- tests


def test_sign_in_needs_the_forms_csrf_token(signed_app):
    app, _ = signed_app
    client = app.server.test_client()
    client.get("/login")
    response = client.post("/login", data={"username": "user_analyst", "password": PASSWORD, "csrf": "forged"})
    assert response.status_code == 200 and b"expired" in response.data
    assert client.get("/").status_code == 302


def test_unauthenticated_requests_to_every_page_and_callback_are_refused(signed_app, deps):
    app, _ = signed_app
    anonymous = app.server.test_client()
    for page in PAGES:
        response = anonymous.get(page.PATH)
        assert response.status_code == 302 and response.headers["Location"].startswith("/login"), page.PATH
    for path in ("/_dash-layout", "/_dash-dependencies", "/_reload-hash", url_for_level("ics")):
        assert anonymous.get(path).status_code == 401, path
    assert len(deps) >= 20
    for dep in deps:
        response = post(anonymous, dep, {})
        assert response.status_code == 401, dep["output"]
        assert b"sign in required" in response.data and b"response" not in response.data


@pytest.mark.parametrize("role", ["strategist", "social_care"])
def test_forged_requests_for_lsoa_level_are_refused(clients, deps, london_app_data, role):
    client = clients[role]
    data = london_app_data
    lsoa = data.geometry["lsoa"].codes[0]
    pcn = MapView(level="pcn", metric="coverage")
    forged_store = {**pcn.to_store(), "level": "lsoa"}
    requests = [
        (dep_for(deps, ids.MAP_VALUES), {key(ids.MAP_VIEW, "data"): forged_store}),
        (dep_for(deps, MAP_ROWS), {key(ids.MAP_VIEW, "data"): forged_store, key(ids.MAP_TABLE, "getRowsRequest"): PAGE_1}),
        (dep_for(deps, ids.MAP_TABLE + ".columnDefs"), {key(ids.MAP_VIEW, "data"): forged_store}),
        (dep_for(deps, ids.MAP_SELECTION), {key(ids.MAP_VIEW, "data"): {**pcn.to_store(), "sel": lsoa}}),
        (dep_for(deps, ids.MAP_HOVER), {key(ids.MAP_VIEW, "data"): forged_store,
                                        key(ids.MAP_GRAPH, "hoverData"): {"points": [{"location": lsoa}]}}),
        (dep_for(deps, ids.MAP_VIEW + ".data"), {**{key(ids.map_control(k), "value"): v for k, v in
                                                    map_page.control_values(pcn.with_(level="lsoa")).items()},
                                                 key(ids.MAP_VIEW, "data"): pcn.to_store()}),
        (dep_for(deps, ids.PROFILE_KEY_TABLE), {key(ids.PROFILE_VIEW, "data"): {"metric": "coverage", "area": lsoa}}),
        (dep_for(deps, ids.PROFILE_VIEW + ".data"), {key(ids.PROFILE_AREA, "value"): lsoa,
                                                     key(ids.PROFILE_VIEW, "data"): {"metric": "coverage"}}),
        (dep_for(deps, ids.INEQ_FUNNEL), {key(ids.INEQ_VIEW, "data"): {**forged_store}}),
        (dep_for(deps, ids.SPC_CHART), {key(ids.SPC_VIEW, "data"): {"metric": "coverage", "area": lsoa}}),
        (dep_for(deps, ids.SPC_VIEW + ".data"), {key(ids.SPC_AREA, "value"): lsoa, key(ids.SPC_METRIC, "value"):
                                                 "coverage", key(ids.SPC_VIEW, "data"): {"metric": "coverage"}}),
        (dep_for(deps, ids.INEQ_VIEW + ".data"), {key(ids.INEQ_LEVEL, "value"): "lsoa",
                                                  key(ids.INEQ_METRIC, "value"): "coverage",
                                                  key(ids.INEQ_VIEW, "data"): pcn.to_store()}),
        (dep_for(deps, ids.PYRAMID_CONTENT), {key(ids.PYRAMID_AREA, "value"): lsoa}),
        (dep_for(deps, ids.PYRAMID_AREA + ".options"), {key(ids.PYRAMID_AREA, "value"): lsoa}),
        (dep_for(deps, ids.NEIGHBOURS_CONTENT), {key(ids.NEIGHBOURS_AREA, "value"): lsoa}),
    ]
    for dep, values in requests:
        response = post(client, dep, values)
        assert response.status_code == 403, (dep["output"][:60], response.status_code)
        assert set(response.get_json()) == {"error"}  # a reason, and nothing else
    boundaries = client.get(url_for_level("lsoa"))  # explorer.app.geometry: boundaries are a route
    assert boundaries.status_code == 403 and set(boundaries.get_json()) == {"error"}
    # the same requests at PCN level are answered: the refusal is about the level, not the request
    ok = post(client, dep_for(deps, ids.MAP_VALUES), {key(ids.MAP_VIEW, "data"): pcn.to_store()})
    assert ok.status_code == 200 and body(ok)["response"][ids.MAP_VALUES]["data"]["level"] == "pcn"


@pytest.mark.parametrize("role", NON_ANALYST)
def test_forged_requests_for_raw_values_clinical_content_or_diagnostics_are_refused(clients, deps, role):
    client = clients[role]
    view = MapView(level="pcn", metric="plans", filters=SMALL)
    forged = [
        {**view.to_store(), "role": "analyst"},
        {**view.to_store(), "policy": "raw"},
        {**view.to_store(), "suppress": "false", "threshold": "0"},
        {**view.to_store(), "metric": "model_diagnostics"},
        {**view.to_store(), "metric": "resuscitation_decision"},
        {**view.to_store(), "metric": "medications"},
    ]
    refused = 0
    for store in forged:
        for output in (ids.MAP_VALUES, MAP_ROWS, ids.MAP_SELECTION):
            response = post(client, dep_for(deps, output), {key(ids.MAP_VIEW, "data"): store,
                                                            key(ids.MAP_TABLE, "getRowsRequest"): PAGE_1})
            assert response.status_code == 403, (store, output, response.status_code)
            refused += 1
        for dep_out, store_key, page_store in (
                (ids.PROFILE_KEY_TABLE, ids.PROFILE_VIEW, {"metric": "coverage", "role": "analyst"}),
                (ids.INEQ_GROUPS, ids.INEQ_VIEW, {**store, "level": "pcn"}),
                (ids.OUT_TABLE + ".rowData", ids.OUT_VIEW, {**OutreachView().to_query(), "policy": "raw"})):
            response = post(client, dep_for(deps, dep_out), {key(store_key, "data"): page_store})
            assert response.status_code == 403, (dep_out, page_store)
            refused += 1
    assert refused == 6 * 6
    # the well-formed view is answered, with every small count hidden
    ok = post(client, dep_for(deps, MAP_ROWS), {key(ids.MAP_VIEW, "data"): view.to_store(),
                                                key(ids.MAP_TABLE, "getRowsRequest"): PAGE_1})
    leaks = Leaks()
    leaks.response(body(ok), role, count_metric=True)
    assert leaks.checked > 0 and leaks.found == []


def test_model_diagnostics_are_not_served_to_anyone_but_analysts(signed_app, clients, deps):
    """No page or callback serves the model card; a forged request for one is refused, not answered."""
    app, _ = signed_app
    paths = {rule.rule for rule in app.server.url_map.iter_rules()}
    assert not [p for p in paths if "model" in p or "diagnos" in p]
    assert not [d for d in deps if "model" in d["output"] or "diagnos" in d["output"]]
    for role in NON_ANALYST:
        response = post(clients[role], dep_for(deps, ids.PROFILE_GRADIENT),
                        {key(ids.PROFILE_VIEW, "data"): {"metric": "model_diagnostics"}})
        assert response.status_code == 403


@pytest.mark.parametrize("role", NON_ANALYST)
def test_sweep_every_callback_shows_no_count_from_1_to_7(clients, deps, london_app_data, role, record_property):
    client = clients[role]
    leaks = Leaks()
    called, refusals = set(), 0
    for name, values, count_metric in scenarios(london_app_data, role):
        for dep in deps:
            response = post(client, dep, values, wildcard={ids.GEOMETRY_TYPE: [ids.geometry_store(lv) for lv in
                                                                               ("ics", "place", "pcn", "lsoa")],
                                                           ids.CRUMB_TYPE: []})
            expected_403 = any(r == role and part in dep["output"] for (r, part) in EXPECTED_REFUSALS)
            if expected_403:
                assert response.status_code == 403, (name, dep["output"][:60])
                refusals += 1
                continue
            assert response.status_code in (200, 204), (role, name, dep["output"][:80], response.status_code)
            called.add(dep["output"])
            if response.status_code == 200:
                leaks.response(body(response), f"{role} {name} {dep['output'][:40]}", count_metric=count_metric)
    assert leaks.figures > 10 and leaks.official_figures > 0 and leaks.unmarked == [], leaks.unmarked[:5]  # charts say SYNTHETIC DATA, rightly
    record_property("cells_checked", leaks.checked)
    print(f"{role}: {len(called)} callbacks answered, {refusals} refused as expected, "
          f"{leaks.checked} count cells checked")
    assert len(called) + (4 if role != "commissioner" else 0) >= len(deps)  # 4 outreach callbacks refused
    assert leaks.checked > 2000
    assert leaks.found == [], summarise(leaks.found)


def test_the_sweep_detects_small_counts_when_they_are_shown(clients, deps, london_app_data):
    """The analyst sees raw values on screen: the same detector must find 1-7 there (else it proves nothing)."""
    client = clients["analyst"]
    leaks = Leaks()
    for name, values, count_metric in list(scenarios(london_app_data, "analyst"))[1:4]:
        for output in (MAP_ROWS, ids.MAP_HOVER, ids.MAP_VALUES):
            response = post(client, dep_for(deps, output), values)
            assert response.status_code == 200
            leaks.response(body(response), name, count_metric=count_metric)
    assert len(leaks.found) >= 5


@pytest.mark.parametrize("role", ["analyst", "commissioner"])
def test_csv_downloads_are_publication_controlled_for_every_role_and_audited(signed_app, clients, deps, role,
                                                                             london_app_data):
    _, audit_log = signed_app
    view = OutreachView(level="pcn", filters=SMALL, capacity=1003)
    raw = london_app_data.outreach("pcn", SMALL, view.risk, DisclosurePolicy.raw())
    assert ((raw["high_risk_without_plan"] > 0) & (raw["high_risk_without_plan"] < 8)).sum() > 10
    before = audit_log.read_text().count("\n") if audit_log.exists() else 0
    response = post(clients[role], dep_for(deps, ids.OUT_DOWNLOAD), {
        key(ids.OUT_DOWNLOAD_BUTTON, "n_clicks"): 1, key(ids.OUT_VIEW, "data"): view.to_query()})
    assert response.status_code == 200
    download = body(response)["response"][ids.OUT_DOWNLOAD]["data"]
    assert download["filename"].endswith(".csv")
    leaks = Leaks()
    leaks.csv(download["content"], f"{role} CSV")
    assert leaks.checked > 500 and leaks.found == []
    rows = list(csv.DictReader(line for line in download["content"].splitlines() if not line.startswith("#")))
    assert any(r["suppressed"] for r in rows)  # small cells are there, hidden (empty, named in `suppressed`)
    if role == "commissioner":  # same policy on screen: every CSV column is the screen's column of that id
        screen = body(post(clients[role], dep_for(deps, ids.OUT_TABLE + ".rowData"),
                           {key(ids.OUT_VIEW, "data"): view.to_query()}))["response"][ids.OUT_TABLE]
        for col in grid_columns(screen["columnDefs"]):
            assert [r[col["id"]] for r in rows] == [str(r[col["id"]]) for r in screen["rowData"]], col["name"]
    events = [json.loads(line) for line in audit_log.read_text().splitlines()[before:]]
    exports = [e for e in events if e["event"] == "export"]
    assert len(exports) == 1
    assert exports[0]["user"] == f"user_{role}" and exports[0]["role"] == role
    assert exports[0]["what"] == "outreach_csv" and exports[0]["level"] == "pcn" and exports[0]["at"]


@pytest.mark.parametrize("role", ["strategist", "social_care"])
def test_roles_without_outreach_cannot_download(clients, deps, role, signed_app):
    _, audit_log = signed_app
    before = audit_log.read_text() if audit_log.exists() else ""
    response = post(clients[role], dep_for(deps, ids.OUT_DOWNLOAD), {
        key(ids.OUT_DOWNLOAD_BUTTON, "n_clicks"): 1, key(ids.OUT_VIEW, "data"): OutreachView().to_query()})
    assert response.status_code == 403 and "Outreach" in response.get_json()["error"]
    assert (audit_log.read_text() if audit_log.exists() else "") == before  # nothing exported


# --------------------------------------------------------------------------- spine chart, overview, compare (issue 16)


def views_pages(data, role: str) -> list[tuple[str, str]]:
    """(path, search) of the spine chart, overview and compare pages on small cells (SMALL filters)
    at the lowest level the role sees: each layout is drawn from its URL alone."""
    from urllib.parse import urlencode

    from explorer.domain.access import policy_for

    lowest = policy_for(role).levels[-1]
    pcns = small_codes(data, "pcn", "plans", SMALL, 3)
    place = data.parent_of[pcns[0]]
    parent = place if lowest == "lsoa" else data.parent_of[place]  # LSOAs in a place, PCNs in an ICS
    flt = SMALL.to_query()
    return [
        ("/spine", "?" + urlencode({"area": pcns[0], "cmp": "group", "group": ",".join(pcns[1:]), **flt})),
        ("/overview", "?" + urlencode({"level": lowest, "area": parent, "sort": "plans", **flt})),
        ("/compare", "?" + urlencode({"level": lowest, "area": parent, "metric": "plans", **flt})),
        ("/compare", "?" + urlencode({"level": "pcn", "metric": "reviewed_in_period", "group": ",".join(pcns),
                                      **flt})),
    ]


def views_leaks(client, deps, data, role: str) -> Leaks:
    leaks = Leaks()
    content = dep_for(deps, "_pages_content")
    for path, search in views_pages(data, role):
        values = {key("_pages_location", "pathname"): path, key("_pages_location", "search"): search}
        response = post(client, content, values)
        assert response.status_code == 200, (role, path, response.status_code)
        leaks.response(body(response), f"{role} {path}{search[:40]}", count_metric=True)
    return leaks


@pytest.mark.parametrize("role", NON_ANALYST)
def test_spine_overview_and_compare_show_no_count_from_1_to_7(clients, deps, london_app_data, role):
    """The new views' tables (numerators, denominators, counts of people per area) and figures, on
    filters that leave many cells of 1-7 people, hold no such count for a non-analyst role."""
    leaks = views_leaks(clients[role], deps, london_app_data, role)
    assert leaks.found == [], summarise(leaks.found)
    assert leaks.figures >= 3 and leaks.unmarked == [], leaks.unmarked  # the charts say SYNTHETIC DATA
    assert leaks.checked > 100  # 136 for the strategist and social care (PCNs), more at LSOA level


def test_the_new_views_would_show_small_counts_to_an_analyst(clients, deps, london_app_data):
    """The same detector on the analyst's unrounded view finds 1-7 (else the test above proves nothing)."""
    leaks = views_leaks(clients["analyst"], deps, london_app_data, "analyst")
    assert len(leaks.found) >= 5


def test_the_new_views_refuse_levels_beyond_the_role(clients, deps, london_app_data):
    """A strategist's pasted LSOA link falls back to a level it may see (as a URL does everywhere);
    a forged control value for LSOA level is refused (the pages keep no store to forge)."""
    data = london_app_data
    lsoa = data.geometry["lsoa"].codes[0]
    content = dep_for(deps, "_pages_content")
    for path, search in (("/overview", "?level=lsoa"), ("/compare", "?level=lsoa&metric=coverage"),
                         ("/spine", f"?area={lsoa}")):
        response = post(clients["strategist"], content, {key("_pages_location", "pathname"): path,
                                                         key("_pages_location", "search"): search})
        assert response.status_code == 200
        text = json.dumps(body(response))
        assert lsoa not in text and f"{data.level_label('lsoa')} areas" not in text, path
    follow = dep_for(deps, ids.RUG_URL + ".search")
    response = post(clients["strategist"], follow, {key(ids.RUG_LEVEL, "value"): "lsoa",
                                                    key(ids.RUG_URL, "search"): "?level=pcn"})
    assert response.status_code == 403  # no control offers it: refused, as on the other pages
