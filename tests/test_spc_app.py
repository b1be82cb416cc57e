"""`explorer spc` and the SPC page's sections on the session's London records: columns, icons, plain
errors, the audit log, and SPC computed only from the role's disclosure-controlled values."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from explorer.app.pages import spc as spc_page
from explorer.app.state import query_from_search
from explorer.app.state_spc import SpcView
from explorer.cli import app
from explorer.domain import access, spc
from explorer.domain.metrics import Filters

runner = CliRunner()
SMALL = Filters(age_band=("85+",), ethnic_group=("other",))  # many PCN-months of 1-7 people
COLUMNS = ["month", "value", "mean", "lower_limit", "upper_limit", "special_cause", "point_type"]


@pytest.fixture()
def env(cli_env, london_app_data, tmp_path, monkeypatch):
    """The CLI on the session's records through the engine the app fixtures loaded, own audit log."""
    from explorer import services

    monkeypatch.setattr(services, "load_engine", lambda *a, **k: london_app_data.engine)
    monkeypatch.setenv("EXPLORER_AUDIT_LOG", str(tmp_path / "audit.log"))
    return tmp_path / "audit.log"


@pytest.fixture(scope="module")
def small_pcn(london_app_data) -> str:
    """A PCN whose exact count of plans under SMALL is 1-7 at the snapshot."""
    raw = london_app_data.raw_table("pcn", "plans", SMALL, None)
    num = raw["plans_numerator"].astype(float)
    return str(raw.loc[(num > 0) & (num < 8), "area_code"].iloc[0])


def run(*args: str) -> io.StringIO:
    result = runner.invoke(app, ["spc", *args])
    assert result.exit_code == 0, result.output
    return io.StringIO(result.stdout)


def test_csv_has_a_row_per_month_with_limits_rules_and_icons(env, london_app_data):
    ics = london_app_data.geometry["ics"].codes[0]
    frame = pd.read_csv(run("--level", "ics", "--area", ics, "--metric", "reviewed_in_period", "--target", "90"),
                        keep_default_na=False)
    assert list(frame.columns) == [*COLUMNS, "variation", "assurance", "data"]
    assert len(frame) == london_app_data.engine.history_months
    assert frame["month"].is_monotonic_increasing and frame["data"].eq("SYNTHETIC").all()
    assert set(frame["variation"]) <= set(spc.POINT_TYPES) and frame["variation"].nunique() == 1
    assert frame["assurance"].iloc[0] in spc.ASSURANCE_TYPES
    assert set("; ".join(frame["special_cause"]).replace("; ", " ").split()) <= set(spc.RULES)
    value = frame["value"].astype(float)
    assert frame["mean"].astype(float).iloc[0] == pytest.approx(value.mean(), rel=1e-5)


def test_json_gives_the_icons_once_and_rebases_at_a_month(env, london_app_data):
    ics = london_app_data.geometry["ics"].codes[1]
    months = [m.strftime("%Y-%m") for m in london_app_data.engine.months]
    out = json.load(run("--level", "ics", "--area", ics, "--metric", "coverage", "--rebase", months[12],
                        "--baseline", "6", "--format", "json"))
    assert {"variation", "variation_label", "assurance", "rows", "data", "target"} <= set(out)
    assert out["assurance"] is None and out["data"] == "SYNTHETIC"
    rows = pd.DataFrame(out["rows"])
    assert list(rows.columns) == COLUMNS
    first, second = rows.iloc[:12], rows.iloc[12:]
    assert first["mean"].nunique() == 1 and second["mean"].nunique() == 1  # new limits from the rebase month
    assert first["mean"].iloc[0] == pytest.approx(first["value"].iloc[:6].mean(), rel=1e-5)
    assert second["mean"].iloc[0] == pytest.approx(second["value"].iloc[:6].mean(), rel=1e-5)


@pytest.mark.parametrize("role", ["commissioner", "strategist"])
def test_spc_rests_only_on_the_roles_controlled_values(env, london_app_data, small_pcn, role):
    filters = [part for k, v in SMALL.to_query().items() for part in ("--filter", f"{k}={v}")]
    args = ["--level", "pcn", "--area", small_pcn, "--metric", "plans", "--role", role, *filters]
    frame = pd.read_csv(run(*args))
    value = frame["value"].astype(float)
    assert not ((value > 0) & (value < 8)).any()  # no count of 1-7
    assert (value.dropna() % 5 == 0).all()  # counts rounded to 5
    policy = access.disclosure_policy_for(role)
    shown, _ = london_app_data.trend(small_pcn, "plans", SMALL, None, policy)  # what the profile shows
    assert np.allclose(value.to_numpy(), pd.to_numeric(shown["value"], errors="coerce").mask(shown["suppressed"]),
                       equal_nan=True)
    if value.notna().sum() >= 2:
        assert frame["mean"].iloc[0] == pytest.approx(value.mean(), rel=1e-6)


@pytest.mark.parametrize("args, message", [
    (["--rebase", "2025-13"], "not a month"),
    (["--rebase", "1999-01"], "not in the series"),
    (["--baseline", "1"], "baseline"),
    (["--metric", "population"], "no monthly series"),
    (["--metric", "nonsense"], "unknown metric"),
    (["--area", "E99999999"], "unknown area"),
    (["--level", "place"], "not at level"),
])
def test_bad_input_is_a_plain_error(env, london_app_data, args, message):
    base = {"--level": "ics", "--area": london_app_data.geometry["ics"].codes[0], "--metric": "coverage"}
    for flag, value in zip(args[::2], args[1::2]):
        base[flag] = value
    result = runner.invoke(app, ["spc", *[x for kv in base.items() for x in kv]])
    assert result.exit_code == 2, result.output
    assert message in result.stderr and "Traceback" not in result.output and result.stdout == ""


def test_level_beyond_the_role_is_refused_and_exports_are_audited(env, london_app_data):
    lsoa = london_app_data.geometry["lsoa"].codes[0]
    refused = runner.invoke(app, ["spc", "--level", "lsoa", "--area", lsoa, "--metric", "coverage",
                                  "--role", "strategist"])
    assert refused.exit_code == 3 and refused.stdout == ""
    run("--level", "ics", "--area", london_app_data.geometry["ics"].codes[0], "--metric", "coverage",
        "--role", "strategist")
    events = [json.loads(line) for line in env.read_text().splitlines()]
    assert [(e["event"], e["what"], e["role"]) for e in events] == [("export", "cli_spc", "strategist")]


def test_page_sections_chart_table_and_summary_of_change(london_app_data, small_pcn):
    data = london_app_data
    policy = access.disclosure_policy_for("commissioner")
    view = SpcView(area=small_pcn, metric="plans", filters=SMALL, target=20.0)
    badges, chart = spc_page.chart_section(data, view, policy)
    text = json.dumps([b.to_plotly_json() for b in badges], default=str)
    assert "Variation:" in text and "Assurance:" in text
    block = json.loads(json.dumps(chart[0].to_plotly_json(), default=lambda o: o.to_plotly_json()))

    def find(node, key):
        if isinstance(node, dict):
            if key in node:
                yield node[key]
            for v in node.values():
                yield from find(v, key)
        elif isinstance(node, list):
            for v in node:
                yield from find(v, key)

    rows = next(t["rowData"] for t in find(block, "props") if isinstance(t, dict) and "columnDefs" in t)
    assert len(rows) == data.engine.history_months and "Rule fired" in rows[0]
    counts = [r["Value (people)"] for r in rows]
    assert counts and all(c == "*" or c == 0 or c >= 8 for c in counts)
    figure = next(f for f in find(block, "figure") if isinstance(f, dict))
    assert "SYNTHETIC DATA" in json.dumps(figure["layout"])
    whole = view.with_(filters=Filters())  # under SMALL most of a PCN's months are hidden: too few to chart
    summary = spc_page.summary_section(data, whole, policy, access.Role("commissioner"))
    links = [h for h in find(json.loads(json.dumps([s.to_plotly_json() for s in summary],
                                                   default=lambda o: o.to_plotly_json())), "href")]
    metrics = {query_from_search(h.split("?", 1)[1])["metric"] for h in links}
    assert "plans" in metrics and "reviewed_in_period" in metrics and len(links) == len(metrics)
    assert all(h.startswith(spc_page.PATH + "?") and f"area={small_pcn}" in h for h in links)


def test_download_is_publication_controlled_for_every_role_and_says_synthetic(london_app_data, small_pcn):
    view = SpcView(area=small_pcn, metric="plans", filters=SMALL, target=20.0)
    raw_view = london_app_data.trend(small_pcn, "plans", SMALL, None, access.disclosure_policy_for("analyst"))[0]
    assert ((raw_view["value"] > 0) & (raw_view["value"] < 8)).any()  # the analyst's screen shows small counts
    for role in ("analyst", "commissioner"):
        text = spc_page.csv_text(london_app_data, view, access.Role(role))
        notes = [line for line in text.splitlines() if line.startswith("#")]
        assert "SYNTHETIC" in notes[-1] and "Variation:" in notes[1]
        rows = pd.read_csv(io.StringIO(text), comment="#")
        assert list(rows.columns) == COLUMNS and len(rows) == london_app_data.engine.history_months
        value = rows["value"].astype(float)
        assert not ((value > 0) & (value < 8)).any(), role
