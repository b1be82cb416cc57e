"""The outreach what-if wired to the engine (issue 17, point 3): controlled inputs, the audit summing
to the selection, before/after checked by hand on the controlled counts, the page panel and the CLI."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from explorer.app.pages import outreach as outreach_page
from explorer.app.state import OutreachView
from explorer.cli import app
from explorer.domain import access
from explorer.domain.access import AccessDenied
from explorer.services.whatif import outreach_whatif

runner = CliRunner()
CAPACITY = 500


@pytest.fixture(scope="module")
def ics(london_app_data) -> str:
    return str(london_app_data.geometry["ics"].codes[0])


def run(data, role: str, area: str | None, ranking: str, capacity: float = CAPACITY):
    return outreach_whatif(data.engine_call, data.bundle.areas, role, access.disclosure_policy_for(role),
                           level="pcn", area=area, capacity=capacity, ranking=ranking)


@pytest.mark.parametrize("ranking", ["without_plan", "deprivation_gap"])
def test_audit_sums_to_the_selection_and_before_after_match_the_controlled_counts(london_app_data, ics, ranking):
    result = run(london_app_data, "commissioner", ics, ranking)
    cells = result.cells
    # inputs are controlled: every count a multiple of 5, none 1-7
    for col in ("high_risk", "with_plan"):
        assert (cells[col] % 5 == 0).all() and not cells[col].between(1, 7).any(), col
    hr, wp = cells["high_risk"].sum(), cells["with_plan"].sum()
    reached = min(CAPACITY, hr - wp)
    area = result.summary.set_index("scope").loc["area"]
    assert area["reached"] == pytest.approx(reached)
    assert area["coverage_before"] == pytest.approx(100 * wp / hr)
    assert area["coverage_after"] == pytest.approx(100 * (wp + reached) / hr)
    assert set(result.summary["scope"]) == {"area", "parent"}  # an ICS's parent is the region
    for dim, rows in result.audit.groupby("dimension"):
        assert rows["reached"].sum() == pytest.approx(reached, rel=1e-9), dim
    assert set(result.audit["dimension"]) == {"imd_quintile", "ethnic_group", "age_band", "sex"}


def test_gap_ranking_starts_with_the_quintile_furthest_behind(london_app_data, ics):
    cells = run(london_app_data, "commissioner", ics, "deprivation_gap", capacity=50).cells
    by_q = cells.groupby("imd_quintile")[["with_plan", "high_risk"]].sum()
    worst = (by_q["with_plan"] / by_q["high_risk"]).idxmin()
    assert set(cells.loc[cells["reached"] > 0, "imd_quintile"]) == {worst}


def test_only_roles_with_outreach(london_app_data, ics):
    with pytest.raises(AccessDenied):
        run(london_app_data, "strategist", ics, "without_plan")


def _components(node):
    """Every Dash component in a layout tree, depth first."""
    if isinstance(node, (list, tuple)):
        for child in node:
            yield from _components(child)
    elif hasattr(node, "to_plotly_json"):
        yield node
        yield from _components(getattr(node, "children", None))


def test_page_panel_has_both_tables_says_synthetic_and_keeps_state_in_the_url(london_app_data, ics):
    view = OutreachView(level="pcn", area=ics, whatif="deprivation_gap", capacity=CAPACITY)
    assert OutreachView.from_query(view.to_query()) == view and "wif=deprivation_gap" in view.to_search()
    panel = outreach_page.whatif_panel(london_app_data, view, "commissioner",
                                       access.disclosure_policy_for("commissioner"))
    text = json.dumps(panel, default=lambda c: c.to_plotly_json())
    assert "SYNTHETIC" in text and "Equity audit" in text and " -> " in text
    grids = [t for t in _components(panel) if isinstance(getattr(t, "id", None), str)
             and t.id.startswith("outreach-whatif-") and getattr(t, "rowData", None) is not None]
    assert len(grids) == 2 and all(t.rowData for t in grids)
    for row in grids[1].rowData:  # reached people shown to the nearest 10
        assert row["reached"] == "" or int(row["reached"].replace(",", "")) % 10 == 0


@pytest.fixture()
def env(cli_env, london_app_data, tmp_path, monkeypatch):
    from explorer import services

    monkeypatch.setattr(services, "load_engine", lambda *a, **k: london_app_data.engine)
    monkeypatch.setenv("EXPLORER_AUDIT_LOG", str(tmp_path / "audit.log"))
    return tmp_path / "audit.log"


def test_cli_prints_summary_and_audit_audited_with_plain_errors(env, ics):
    result = runner.invoke(app, ["outreach", "--level", "pcn", "--area", ics, "--capacity", str(CAPACITY),
                                 "--rank", "deprivation_gap", "--role", "commissioner", "--format", "csv"])
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(io.StringIO(result.stdout))
    assert list(frame["table"].unique()) == ["summary", "equity_audit"] and (frame["data"] == "SYNTHETIC").all()
    reached = frame["reached"].dropna()
    assert (reached % 10 == 0).all()  # modelled reach to the nearest 10: never 1-7
    as_json = runner.invoke(app, ["outreach", "--area", ics, "--capacity", "100", "--format", "json"])
    assert as_json.exit_code == 0 and json.loads(as_json.stdout)["ranking"] == "without_plan"
    refused = runner.invoke(app, ["outreach", "--capacity", "10", "--role", "strategist"])
    bad = runner.invoke(app, ["outreach", "--area", "E99999999", "--capacity", "10"])
    for r in (refused, bad):
        assert r.exit_code != 0 and r.stdout == "" and "Traceback" not in r.output
    assert "unknown area" in bad.stderr
    events = [json.loads(line) for line in env.read_text().splitlines()]
    assert [e["what"] for e in events] == ["cli_outreach", "cli_outreach"]
    assert np.isfinite(frame.loc[frame["table"] == "summary", "coverage_after"]).all()
