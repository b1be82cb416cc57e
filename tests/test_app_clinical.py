"""Social care sees no metric built from clinical plan content in the app: plan completeness is not
offered and is refused when asked for, and the care-plan cascade stops at 'Has a live plan'."""

from __future__ import annotations

import json

from explorer.app import ids
from explorer.app.pages import map as map_page
from explorer.app.probe import key
from explorer.app.state import MapView, ProfileView
from explorer.domain.metrics import CASCADE_STEPS
from test_app_roles import body, clients, dep_for, deps, post, signed_app  # noqa: F401 - fixtures

CLINICAL_STAGES = {label for measure, label in CASCADE_STEPS if measure in
                   ("key_complete", "kc_reviewed", "kc_reviewed_viewed")}


def test_social_care_requests_for_completeness_are_refused(clients, deps):
    client = clients["social_care"]
    pcn = MapView(level="pcn", metric="coverage")
    forged = {**pcn.to_store(), "metric": "completeness"}
    controls = {key(ids.map_control(k), "value"): v for k, v in map_page.control_values(pcn).items()}
    requests = [
        (ids.MAP_VALUES, {key(ids.MAP_VIEW, "data"): forged}, None),
        (ids.MAP_TABLE + ".getRowsResponse", {key(ids.MAP_VIEW, "data"): forged,
                                              key(ids.MAP_TABLE, "getRowsRequest"): {"startRow": 0, "endRow": 15}}, None),
        (ids.MAP_TABLE + ".columnDefs", {key(ids.MAP_VIEW, "data"): forged}, None),
        (ids.MAP_VIEW + ".data", {**controls, key(ids.map_control("metric"), "value"): "completeness",
                                  key(ids.MAP_VIEW, "data"): pcn.to_store()}, key(ids.map_control("metric"), "value")),
        (ids.PROFILE_GRADIENT, {key(ids.PROFILE_VIEW, "data"): {"metric": "completeness"}}, None),
        (ids.PROFILE_VIEW + ".data", {key(ids.PROFILE_METRIC, "value"): "completeness",
                                      key(ids.PROFILE_VIEW, "data"): ProfileView().to_query()},
         key(ids.PROFILE_METRIC, "value")),
        (ids.INEQ_GROUPS, {key(ids.INEQ_VIEW, "data"): forged}, None),
        (ids.INEQ_VIEW + ".data", {key(ids.INEQ_METRIC, "value"): "completeness", key(ids.INEQ_LEVEL, "value"): "pcn",
                                   key(ids.INEQ_VIEW, "data"): pcn.to_store()}, key(ids.INEQ_METRIC, "value")),
    ]
    for output, values, changed in requests:
        response = post(client, dep_for(deps, output), values, [changed] if changed else None)
        assert response.status_code == 403, (output, response.status_code)
        assert set(response.get_json()) == {"error"}
    # a commissioner may see completeness: the refusal is about the role
    ok = post(clients["commissioner"], dep_for(deps, ids.MAP_VALUES), {key(ids.MAP_VIEW, "data"): forged})
    assert ok.status_code == 200


def _cascade_stages(client, deps) -> list[str]:
    response = post(client, dep_for(deps, ids.PROFILE_CASCADE), {key(ids.PROFILE_VIEW, "data"):
                                                                 ProfileView().to_query()})
    assert response.status_code == 200
    table = _find_table(body(response)["response"][ids.PROFILE_CASCADE]["children"], ids.PROFILE_CASCADE + "-table")
    return [row["Stage"] for row in table]


def _find_table(node, table_id: str) -> list[dict]:
    if isinstance(node, list):
        for child in node:
            found = _find_table(child, table_id)
            if found is not None:
                return found
        return None
    if isinstance(node, dict):
        props = node.get("props") or {}
        if props.get("id") == table_id:
            return props["rowData"]
        return _find_table(list(props.values()), table_id)
    return None


def test_social_care_cascade_has_no_step_built_on_clinical_items(clients, deps):
    stages = _cascade_stages(clients["social_care"], deps)
    assert len(stages) == 2 and stages[1] == "Has a live plan"
    assert not CLINICAL_STAGES & set(stages)
    full = _cascade_stages(clients["commissioner"], deps)
    assert CLINICAL_STAGES <= set(full) and len(full) == 5


def test_social_care_key_metrics_and_menus_leave_out_completeness(clients, deps):
    client = clients["social_care"]
    response = post(client, dep_for(deps, ids.PROFILE_KEY_TABLE), {key(ids.PROFILE_VIEW, "data"):
                                                                  ProfileView().to_query()})
    text = json.dumps(body(response))
    assert response.status_code == 200 and "Plan completeness" not in text and "coverage" in text.lower()
    pages = dep_for(deps, "_pages_content.children")  # the page layout, with its metric menus
    for path in ("/", "/profile", "/inequalities"):
        response = post(client, pages, {key("_pages_location", "pathname"): path,
                                        key("_pages_location", "search"): ""})
        assert response.status_code == 200
        assert '"value": "completeness"' not in json.dumps(body(response)), path
        assert '"value": "completeness"' in json.dumps(body(post(clients["commissioner"], pages, {
            key("_pages_location", "pathname"): path, key("_pages_location", "search"): ""}))), path
