"""`explorer summary` and `explorer inequality` apply the app's role and disclosure rules (--role)."""

from __future__ import annotations

import io
import json
import math

import pandas as pd
import pytest
from typer.testing import CliRunner

from explorer.cli import app
from explorer.domain import access
from explorer.domain.metrics import METRICS, Filters

runner = CliRunner()
SMALL_CELLS = ["--filter", "age_band=85+", "--filter", "ethnic_group=other"]
CARE_METRICS = [m for m, info in METRICS.items() if info.source != "geography"]
# columns that count something other than people (expected plans, expected admissions): not rounded
NOT_PEOPLE = {"adjusted_coverage_denominator", "expected_admissions_without_plan",
              "expected_admissions_without_plan_numerator", "expected_admissions_without_plan_lower",
              "expected_admissions_without_plan_upper"}


@pytest.fixture()
def env(cli_env, london_app_data, tmp_path, monkeypatch):
    """The CLI on the session's records, reusing the engine the app fixtures loaded (same data,
    no second load), with its own audit log."""
    from explorer import services

    monkeypatch.setattr(services, "load_engine", lambda *a, **k: london_app_data.engine)
    monkeypatch.setenv("EXPLORER_AUDIT_LOG", str(tmp_path / "audit.log"))
    return tmp_path / "audit.log"


def run(*args: str) -> pd.DataFrame:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return pd.read_csv(io.StringIO(result.stdout), dtype={"group": str})


def count_columns(frame: pd.DataFrame) -> list[str]:
    """Every column holding a count of people: population, numerators, denominators, count metrics."""
    counts = [m for m in CARE_METRICS if METRICS[m].kind == "count"]
    cols = [c for c in frame.columns if c == "population" or c in counts or c in ("numerator", "denominator")
            or c.endswith(("_numerator", "_denominator"))]
    return [c for c in cols if c not in NOT_PEOPLE]


def small_cells(frame: pd.DataFrame, cols: list[str]) -> dict[str, int]:
    out = {}
    for c in cols:
        x = pd.to_numeric(frame[c], errors="coerce")
        n = int(((x > 0) & (x < 8)).sum())
        if n:
            out[c] = n
    return out


@pytest.mark.parametrize("role", ["strategist", "social_care"])
def test_lsoa_level_is_refused_with_a_message_and_no_data(env, role):
    for args in (["summary", "--level", "lsoa", "--role", role],
                 ["inequality", "--metric", "coverage", "--level", "lsoa", "--role", role]):
        result = runner.invoke(app, args)
        assert result.exit_code == 3, result.output
        assert result.stdout == ""  # no data at all
        assert "refused" in result.stderr and "LSOA" in result.stderr and "PCN" in result.stderr


def test_unknown_role_is_rejected_by_the_option(env):
    result = runner.invoke(app, ["summary", "--level", "ics", "--role", "admin"])
    assert result.exit_code != 0 and result.stdout == ""


def test_pcn_for_a_strategist_has_no_count_from_1_to_7_in_any_count_column(env):
    args = ["summary", "--level", "pcn", *[a for m in CARE_METRICS for a in ("--metric", m)], *SMALL_CELLS]
    raw = run(*args, "--role", "analyst")
    shown = run(*args, "--role", "strategist")
    cols = count_columns(shown)
    assert len(cols) >= 25 and "population" in cols and "plans_numerator" in cols
    # the filter really makes small cells: the analyst sees hundreds of them
    assert sum(small_cells(raw, cols).values()) > 500
    assert small_cells(shown, cols) == {}
    for c in cols:
        x = pd.to_numeric(shown[c], errors="coerce").dropna()
        assert (x % 5 == 0).all(), f"{c} not rounded to 5"
    assert shown["plans_suppressed"].any() and not raw["plans_suppressed"].any()
    # a suppressed mean leaves no trace in its numerator either (expected admissions = its numerator)
    m = "expected_admissions_without_plan"
    hidden = shown[f"{m}_suppressed"]
    assert hidden.any() and shown.loc[hidden, [m, f"{m}_numerator", f"{m}_lower"]].isna().all().all()


def test_rates_are_recomputed_from_the_rounded_counts(env):
    shown = run("summary", "--level", "pcn", "--metric", "coverage", "--metric", "reviewed_in_period",
                "--filter", "age_band=85+", "--role", "strategist")
    for metric, mult in (("coverage", 1000), ("reviewed_in_period", 100)):
        ok = shown[~shown[f"{metric}_suppressed"] & (shown[f"{metric}_denominator"] > 0)]
        assert len(ok) > 20
        expected = ok[f"{metric}_numerator"] / ok[f"{metric}_denominator"] * mult
        assert ok[metric].to_numpy() == pytest.approx(expected.to_numpy(), rel=1e-5)
        # suppressed numerator -> rate suppressed too
        assert shown.loc[shown[f"{metric}_numerator_suppressed"], metric].isna().all()


def test_default_role_is_controlled_like_a_commissioner(env):
    args = ["summary", "--level", "place", "--metric", "plans", *SMALL_CELLS]
    default, commissioner, analyst = run(*args), run(*args, "--role", "commissioner"), run(*args, "--role", "analyst")
    pd.testing.assert_frame_equal(default, commissioner)
    assert small_cells(default, ["plans", "population"]) == {}
    assert small_cells(analyst, ["plans"])  # the analyst alone gets raw values
    assert not (analyst["population"] % 5 == 0).all()


def test_cli_numbers_are_the_apps_numbers_for_the_same_role(env, london_app_data):
    shown = run("summary", "--level", "pcn", "--metric", "coverage", "--filter", "age_band=85+",
                "--role", "strategist").set_index("area_code")
    policy = access.disclosure_policy_for("strategist")
    in_app = london_app_data.controlled("pcn", "coverage", Filters(age_band=("85+",)), None, policy)
    for col in ("coverage", "coverage_numerator", "coverage_denominator"):
        a = pd.to_numeric(shown[col], errors="coerce").reindex(in_app.index).to_numpy(dtype=float)
        b = pd.to_numeric(in_app[col], errors="coerce").to_numpy(dtype=float, na_value=math.nan)
        assert a == pytest.approx(b, rel=1e-5, nan_ok=True), col


def test_social_care_output_has_no_clinical_columns(env, monkeypatch):
    every = [a for m in access.visible_metrics(CARE_METRICS, "social_care") for a in ("--metric", m)]
    shown = run("summary", "--level", "pcn", *every, "--role", "social_care")
    words = ("resuscitation", "ceiling", "diagnos", "medication")
    assert not [c for c in shown.columns if access.is_clinical(c) or any(w in c for w in words)]
    # asking for a clinical item by name is refused, not answered
    result = runner.invoke(app, ["summary", "--level", "pcn", "--metric", "resuscitation_decision",
                                 "--role", "social_care"])
    assert result.exit_code == 3 and "clinical" in result.stderr and result.stdout == ""

    # if a clinical column ever reaches the summary (e.g. an item-completeness metric), it is stripped
    from explorer.domain import coverage

    real = coverage.summary_table

    def with_items(*a, **k):
        table = real(*a, **k)
        return table.assign(resuscitation_decision_recorded=1.0, medications_recorded_pct=50.0)

    monkeypatch.setattr(coverage, "summary_table", with_items)
    social = run("summary", "--level", "pcn", "--metric", "plans", "--role", "social_care")
    commissioner = run("summary", "--level", "pcn", "--metric", "plans", "--role", "commissioner")
    assert "resuscitation_decision_recorded" in commissioner.columns
    assert not [c for c in social.columns if access.is_clinical(c)] and "plans" in social.columns


def test_inequality_suppresses_small_groups_and_their_complements(env):
    args = ["inequality", "--metric", "coverage", "--level", "pcn", "--by", "ethnic_group", "--filter",
            "age_band=85+"]
    raw = run(*args, "--role", "analyst")
    shown = run(*args, "--role", "strategist")
    cols = ["numerator", "denominator"]
    assert sum(small_cells(raw, cols).values()) > 100
    assert small_cells(shown, cols) == {}
    for col in cols:
        hidden = shown[col].isna() & pd.to_numeric(raw[col]).gt(0)
        # secondary suppression: within an area (groups add up to the area's total) and within a group
        # (areas add up to the group's London total), never exactly one hidden non-zero cell
        for key in ("area_code", "group"):
            per = hidden.groupby(shown[key]).sum()
            assert not (per == 1).any(), f"{col}: a lone hidden cell by {key}: {per[per == 1].index[:3].tolist()}"
        # every small cell is hidden (complements, where needed, are checked by the lone-cell rule above:
        # with PCN figures apportioned, every PCN here already has two or more small groups)
        assert hidden.sum() >= small_cells(raw, [col])[col]
    ok = shown[~shown["suppressed"] & (shown["denominator"] > 0)]
    assert ok["value"].to_numpy() == pytest.approx((ok["numerator"] / ok["denominator"] * 1000).to_numpy(),
                                                   rel=1e-5)


def test_inequality_sii_is_refitted_only_on_complete_controlled_groups(env):
    args = ["inequality", "--metric", "coverage", "--level", "place", "--by", "imd_quintile", "--format", "json"]
    result = runner.invoke(app, [*args, "--role", "commissioner"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    rows, sii = pd.DataFrame(payload["rows"]), pd.DataFrame(payload["sii_rii"])
    incomplete = set(rows.loc[rows["suppressed"] & rows["group"].ne("unknown"), "area_code"])
    assert incomplete and sii.loc[sii["area_code"].isin(incomplete), "sii"].isna().all()
    assert sii.loc[~sii["area_code"].isin(incomplete), "sii"].notna().sum() >= 20


def test_every_cli_export_is_in_the_audit_log(env):
    run("summary", "--level", "place", "--role", "strategist")
    run("inequality", "--metric", "coverage", "--level", "ics", "--role", "analyst")
    lines = [json.loads(line) for line in env.read_text().splitlines()]
    assert [(e["event"], e["what"], e["role"]) for e in lines] == [
        ("export", "cli_summary", "strategist"), ("export", "cli_inequality", "analyst")]
    assert all(e["user"].startswith("cli:") and e["at"] for e in lines)


@pytest.mark.parametrize("args", [["summary", "--level", "pcn", "--metric", "completeness"],
                                  ["summary", "--level", "ics", "--metric", "coverage", "--metric", "completeness"],
                                  ["inequality", "--metric", "completeness", "--level", "pcn"]])
def test_social_care_is_refused_completeness_built_on_clinical_items(args):
    """Plan completeness counts the resuscitation decision and ceiling of treatment: refused before any
    data is read (exit 3, a reason on stderr, nothing on stdout)."""
    result = runner.invoke(app, [*args, "--role", "social_care"])
    assert result.exit_code == 3, result.output
    assert "clinical" in result.stderr and "completeness" in result.stderr and result.stdout == ""
