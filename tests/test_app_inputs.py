"""Malformed callback inputs get HTTP 400 with a short reason, never a 500.

Forged requests are posted to /_dash-update-component as the browser would post them (the same
signed-in clients and helpers as test_app_roles), with values no control of the app can send.
"""

from __future__ import annotations

import math

import pytest

from explorer.app import ids
from explorer.app.pages import map as map_page
from explorer.app.probe import key
from explorer.app.state import (
    InvalidInput, MapView, OutreachView, ProfileView, check_store, event_location, parse_capacity, parse_rows,
    parse_sort,
)
from test_app_roles import body, clients, dep_for, deps, post, signed_app  # noqa: F401 - fixtures

ROLE = "commissioner"  # sees every page, outreach included


def assert_bad_request(response, where: object) -> None:
    assert response.status_code == 400, (where, response.status_code)
    payload = response.get_json()
    assert set(payload) == {"error"} and 0 < len(payload["error"]) < 200, (where, payload)
    assert "Traceback" not in payload["error"]


# --------------------------------------------------------------------------- the parsers


@pytest.mark.parametrize("value", ["abc", -5, 1e309, "1e309", math.nan, 2.5, True, [10], {"a": 1}, 10**12])
def test_capacity_must_be_a_whole_number_in_range(value):
    with pytest.raises(InvalidInput):
        parse_capacity(value)


def test_good_capacities_pass():
    assert parse_capacity(0) == 0 and parse_capacity(1500) == 1500 and parse_capacity("200") == 200
    assert parse_capacity(None) is None and parse_capacity(3.0) == 3


@pytest.mark.parametrize("sort_by", [[{"colId": "secret", "sort": "asc"}], "numerator",
                                     [{"colId": "value", "sort": "sideways"}], [["value", "asc"]],
                                     [{"colId": ["value"], "sort": "asc"}],
                                     [{"column_id": "value", "direction": "asc"}]])  # the old DataTable shape
def test_sort_must_name_a_shown_column_and_a_direction(sort_by):
    with pytest.raises(InvalidInput):
        parse_sort(sort_by, ["area_name", "value"])


def test_good_sorts_pass():
    assert parse_sort(None, ["value"]) == ("value", False)
    assert parse_sort([{"colId": "area_name", "sort": "asc"}], ["area_name"]) == ("area_name", True)
    assert parse_sort([{"colId": "value", "sort": "desc"}], ["value"]) == ("value", False)


@pytest.mark.parametrize("stored", [["level", "ics"], "level=ics", 5, {"level": ["ics"]}, {"level": {"x": 1}},
                                    {1: "ics"}])
def test_a_store_must_be_a_mapping_of_text(stored):
    with pytest.raises(InvalidInput):
        check_store(stored)
    with pytest.raises(InvalidInput):
        MapView.from_store(stored, metrics=("population",))


def test_pages_and_events_are_checked():
    for bad in ("abc", None, {"startRow": "0", "endRow": 15}, {"startRow": -1, "endRow": 15},
                {"startRow": 15, "endRow": 15}, {"startRow": 0, "endRow": 1.5}, {"startRow": 0},
                {"startRow": 0, "endRow": True}, {"startRow": 0, "endRow": 101}):
        with pytest.raises(InvalidInput):
            parse_rows(bad, 100)
    assert parse_rows({"startRow": 30, "endRow": 45, "sortModel": []}, 100) == (30, 45)
    for bad in ("x", {"points": "x"}, {"points": ["x"]}, {"points": [{"location": 5}]}):
        with pytest.raises(InvalidInput):
            event_location(bad, "hoverData")
    assert event_location({"points": [{"location": "E1"}]}, "hoverData") == "E1"
    assert event_location({"points": []}, "hoverData") is None


def test_urls_stay_forgiving():
    """A pasted URL with a silly capacity falls back to the default (only forged callbacks get 400)."""
    for text in ("abc", "1e309", "nan", "-5"):
        assert 0 <= OutreachView.from_query({"capacity": text}).capacity <= 10_000_000


# --------------------------------------------------------------------------- the app answers 400


def _outreach_values(capacity):
    view = OutreachView(level="pcn")
    return {key(ids.OUT_VIEW, "data"): view.to_query(), key(ids.OUT_LEVEL, "value"): "pcn",
            key(ids.OUT_RISK, "value"): "top_percent:10", key(ids.OUT_RANK_BY, "value"): view.rank_by,
            key(ids.OUT_CAPACITY, "value"): capacity, key(ids.OUT_URL, "search"): view.to_search(),
            key(ids.OUT_URL, "pathname"): "/outreach", key(ids.OUT_AREA, "value"): "",
            key(ids.OUT_WHATIF_RANK, "value"): "without_plan"}


@pytest.mark.parametrize("capacity", ["abc", -5, 1e309, "1e309", 2.5])
def test_bad_capacity_is_400(clients, deps, capacity):
    response = post(clients[ROLE], dep_for(deps, ids.OUT_VIEW + ".data"), _outreach_values(capacity),
                    [key(ids.OUT_CAPACITY, "value")])
    assert_bad_request(response, capacity)
    assert "Capacity" in response.get_json()["error"]


def test_a_good_capacity_is_answered(clients, deps):
    response = post(clients[ROLE], dep_for(deps, ids.OUT_VIEW + ".data"), _outreach_values(1500),
                    [key(ids.OUT_CAPACITY, "value")])
    assert response.status_code == 200
    assert body(response)["response"][ids.OUT_VIEW]["data"]["capacity"] == "1500"


def _spc_values(target, baseline="all", rebase="none"):
    from explorer.app.state_spc import SpcView

    view = SpcView(metric="coverage")
    return {key(ids.SPC_VIEW, "data"): view.to_query(), key(ids.SPC_AREA, "value"): None,
            key(ids.SPC_METRIC, "value"): "coverage", key(ids.SPC_TARGET, "value"): target,
            key(ids.SPC_BASELINE, "value"): baseline, key(ids.SPC_REBASE, "value"): rebase,
            key(ids.SPC_URL, "search"): view.to_search(), key(ids.SPC_URL, "pathname"): "/spc"}


@pytest.mark.parametrize("target", ["abc", 1e309, "nan", True, [5]])
def test_bad_spc_target_is_400_and_a_good_one_is_answered(clients, deps, target):
    dep = dep_for(deps, ids.SPC_VIEW + ".data")
    assert_bad_request(post(clients[ROLE], dep, _spc_values(target), [key(ids.SPC_TARGET, "value")]), target)
    ok = post(clients[ROLE], dep, _spc_values(62.5), [key(ids.SPC_TARGET, "value")])
    assert ok.status_code == 200 and body(ok)["response"][ids.SPC_VIEW]["data"]["target"] == "62.5"


@pytest.mark.parametrize("baseline, rebase", [("1", "none"), ("all", "1999-01"), (["12"], "none")])
def test_spc_baseline_or_rebase_the_page_does_not_offer_is_refused(clients, deps, baseline, rebase):
    response = post(clients[ROLE], dep_for(deps, ids.SPC_VIEW + ".data"), _spc_values(None, baseline, rebase),
                    [key(ids.SPC_BASELINE, "value")])
    assert response.status_code in (400, 403), (baseline, rebase)


ROWS = ids.MAP_TABLE + ".getRowsResponse"


def _table_values(sort_model, start=0, end=15):
    view = MapView(level="pcn", metric="coverage")
    return {key(ids.MAP_VIEW, "data"): view.to_store(),
            key(ids.MAP_TABLE, "getRowsRequest"): {"startRow": start, "endRow": end, "sortModel": sort_model}}


@pytest.mark.parametrize("sort_model", [[{"colId": "secret", "sort": "asc"}], "numerator",
                                        [{"colId": "value", "sort": "sideways"}]])
def test_bad_sort_is_400(clients, deps, sort_model):
    response = post(clients[ROLE], dep_for(deps, ROWS), _table_values(sort_model))
    assert_bad_request(response, sort_model)


def test_bad_rows_are_400_and_good_sort_is_answered(clients, deps):
    dep = dep_for(deps, ROWS)
    assert_bad_request(post(clients[ROLE], dep, _table_values(None, "abc")), "rows")
    assert_bad_request(post(clients[ROLE], dep, _table_values(None, 0, 5000)), "the whole table at once")
    ok = post(clients[ROLE], dep, _table_values([{"colId": "numerator", "sort": "asc"}]))
    assert ok.status_code == 200
    rows = body(ok)["response"][ids.MAP_TABLE]["getRowsResponse"]["rowData"]
    numerators = [r["numerator"] for r in rows if isinstance(r["numerator"], (int, float))]
    assert len(rows) == 15 and numerators == sorted(numerators) and len(numerators) > 5  # numbers, in order


STORES = [["level", "pcn"], "level=pcn", 42, {"level": ["pcn"], "metric": "coverage"}]


@pytest.mark.parametrize("stored", STORES, ids=["list", "text", "number", "nested"])
def test_a_store_that_is_not_a_mapping_of_text_is_400_on_every_page(clients, deps, stored):
    requests = [(ids.MAP_VALUES, ids.MAP_VIEW), (ROWS, ids.MAP_VIEW), (ids.MAP_TABLE + ".columnDefs", ids.MAP_VIEW),
                (ids.MAP_SELECTION, ids.MAP_VIEW), (ids.PROFILE_KEY_TABLE, ids.PROFILE_VIEW),
                (ids.PROFILE_GRADIENT, ids.PROFILE_VIEW), (ids.INEQ_GROUPS, ids.INEQ_VIEW),
                (ids.INEQ_FUNNEL, ids.INEQ_VIEW), (ids.OUT_TABLE + ".rowData", ids.OUT_VIEW),
                (ids.OUT_DOWNLOAD, ids.OUT_VIEW), (ids.SPC_CHART, ids.SPC_VIEW), (ids.SPC_SUMMARY, ids.SPC_VIEW)]
    for output, store in requests:
        values = {key(store, "data"): stored, key(ids.MAP_TABLE, "getRowsRequest"): {"startRow": 0, "endRow": 15},
                  key(ids.OUT_DOWNLOAD_BUTTON, "n_clicks"): 1}
        assert_bad_request(post(clients[ROLE], dep_for(deps, output), values), (output, stored))


def test_controls_with_the_wrong_shape_are_400(clients, deps):
    view = MapView(level="pcn", metric="coverage")
    controls = {key(ids.map_control(k), "value"): v for k, v in map_page.control_values(view).items()}
    map_dep = dep_for(deps, ids.MAP_VIEW + ".data")
    cases = [
        (map_dep, {**controls, key(ids.map_control("age_band"), "value"): "85+"},
         key(ids.map_control("age_band"), "value")),
        (map_dep, {**controls, key(ids.map_control("imd_quintile"), "value"): [1, 2]},
         key(ids.map_control("imd_quintile"), "value")),
        (map_dep, {**controls, key(ids.map_control("metric"), "value"): ["coverage"]},
         key(ids.map_control("metric"), "value")),
        (map_dep, {**controls, key(ids.MAP_GRAPH, "clickData"): {"points": "E38000001"}},
         key(ids.MAP_GRAPH, "clickData")),
        (dep_for(deps, ids.MAP_HOVER), {key(ids.MAP_GRAPH, "hoverData"): "E38000001"}, None),
        (dep_for(deps, ids.PROFILE_VIEW + ".data"), {key(ids.PROFILE_AREA, "value"): ["E38000001"]},
         key(ids.PROFILE_AREA, "value")),
        (dep_for(deps, ids.INEQ_VIEW + ".data"), {key(ids.INEQ_LEVEL, "value"): {"level": "pcn"}}, None),
        (dep_for(deps, ids.OUT_VIEW + ".data"), {**_outreach_values(100), key(ids.OUT_RANK_BY, "value"): 3},
         key(ids.OUT_RANK_BY, "value")),
        (dep_for(deps, ids.CMP_URL + ".search"), {key(ids.CMP_METRIC, "value"): ["coverage"]},
         key(ids.CMP_METRIC, "value")),  # the spine, overview and compare pages' one callback
        (dep_for(deps, ids.SPINE_URL + ".search"), {key(ids.SPINE_URL, "search"): 42}, key(ids.SPINE_AREA, "value")),
    ]
    stores = {key(ids.MAP_VIEW, "data"): view.to_store(), key(ids.PROFILE_VIEW, "data"): ProfileView().to_query(),
              key(ids.INEQ_VIEW, "data"): {**view.to_store()}}
    for dep, values, changed in cases:
        response = post(clients[ROLE], dep, {**stores, **values}, [changed] if changed else None)
        assert_bad_request(response, (dep["output"][:40], changed))
