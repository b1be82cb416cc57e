"""Clinician activity (issue 17, point 5) on the session's London records: the activity cells agree
with the engine's existing active_users metrics, organisation types add up to the area, rates come
from controlled counts, the SPC chart, and the CLI (CSV, JSON, plain errors, audit)."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from explorer.cli import app
from explorer.domain import access, activity, spc
from explorer.domain.metrics import Filters
from explorer.services.activity import (
    activity_chart,
    area_activity,
    cells,
    org_activity,
)

runner = CliRunner()
RAW = access.disclosure_policy_for("analyst")
COUNTS = (*activity.USER_COUNTS, *activity.PLAN_COUNTS)


@pytest.fixture(scope="module")
def month(london_app_data) -> str:
    return london_app_data.engine.snapshot.strftime("%Y-%m")


def test_active_users_agree_with_the_engines_metrics(london_app_data, month):
    data = london_app_data
    mine = area_activity(data, "ics", None, month, None, RAW, "analyst").set_index("area_code")
    for metric, numerator in (("active_users", "active_users"), ("active_users_10plus", "active_users_10plus")):
        engine = data.raw_table("ics", metric, Filters(), None).set_index("area_code")
        assert np.array_equal(mine.loc[engine.index, numerator].to_numpy(float),
                              engine[f"{metric}_numerator"].to_numpy(float)), metric
        assert np.array_equal(mine.loc[engine.index, "users"].to_numpy(float),
                              engine[f"{metric}_denominator"].to_numpy(float))


def test_organisation_types_add_up_to_the_area_and_cover_every_kind(london_app_data, month):
    data = london_app_data
    orgs = org_activity(data, "ics", None, month, RAW, "analyst")
    areas = area_activity(data, "ics", None, month, None, RAW, "analyst").set_index("area_code")
    summed = orgs.groupby("area_code")[list(activity.USER_COUNTS)].sum()
    assert np.array_equal(summed.loc[areas.index].to_numpy(float), areas[list(activity.USER_COUNTS)].to_numpy(float))
    assert {"gp_practice", "acute_trust", "community_trust", "hospice", "ambulance_service", "nhs_111"} <= \
        set(orgs["organisation_type"])
    users, plans = cells(data)
    assert plans["plans_created"].sum() > 0 and plans["plans_updated"].sum() > 0
    assert set(users["month"]) == {m.strftime("%Y-%m") for m in data.engine.months}


@pytest.mark.parametrize("role", ["commissioner", "social_care"])
def test_every_activity_count_is_controlled_and_rates_come_from_shown_counts(london_app_data, month, role):
    data = london_app_data
    policy = access.disclosure_policy_for(role)
    hidden_somewhere = False
    for frame in (area_activity(data, "pcn", None, month, "hospice", policy, role),
                  org_activity(data, "pcn", None, month, policy, role)):
        for column in (c for c in COUNTS if c in frame):
            x = pd.to_numeric(frame[column], errors="coerce").dropna().to_numpy(float)
            assert not ((x > 0) & (x < 8)).any() and (x % 5 == 0).all(), (role, column)
            hidden_somewhere |= bool(frame[f"{column}_suppressed"].any())
        for rate in (r for r in activity.RATES.values() if r.name in frame):
            num = pd.to_numeric(frame[rate.numerator], errors="coerce")
            den = pd.to_numeric(frame[rate.denominator], errors="coerce")
            value = pd.to_numeric(frame[rate.name], errors="coerce")
            shown = value.notna()
            assert np.allclose(value[shown], rate.multiplier * num[shown] / den[shown])
            assert value[num.isna() | den.isna()].isna().all()  # a rate on a hidden count is hidden
    assert hidden_somewhere  # hospices by PCN: small numbers exist and are hidden


def test_spc_chart_of_plans_per_active_clinician(london_app_data):
    data = london_app_data
    ics = data.geometry["ics"].codes[0]
    policy = access.disclosure_policy_for("commissioner")
    chart = activity_chart(data, ics, "plans_created_per_active", "gp_practice", policy, "commissioner", target=1.0)
    assert len(chart.table) == data.engine.history_months
    assert chart.variation in spc.POINT_TYPES and chart.assurance in spc.ASSURANCE_TYPES
    value = chart.table["value"].to_numpy(float)
    assert np.isfinite(value).sum() >= 20 and (value[np.isfinite(value)] >= 0).all()


@pytest.fixture()
def env(cli_env, london_app_data, tmp_path, monkeypatch):
    from explorer.services import app_data

    monkeypatch.setattr(app_data.AppData, "load", classmethod(lambda cls, *a, **k: london_app_data))
    monkeypatch.setenv("EXPLORER_AUDIT_LOG", str(tmp_path / "audit.log"))
    return tmp_path / "audit.log"


def test_cli_activity_tables_spc_and_plain_errors(env, london_app_data):
    result = runner.invoke(app, ["activity", "--level", "ics", "--by", "organisation_type"])
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(io.StringIO(result.stdout))
    assert {"organisation_type", "users", "active_users", "active_users_10plus", "logins"} <= set(frame.columns)
    assert frame["data"].eq("SYNTHETIC").all() and (frame["users"].dropna() % 5 == 0).all()
    ics = london_app_data.geometry["ics"].codes[0]
    result = runner.invoke(app, ["activity", "--spc", "plans_updated_per_active", "--area", ics, "--target", "0.5",
                                 "--format", "json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert len(payload["rows"]) == london_app_data.engine.history_months
    assert payload["variation"] in spc.POINT_TYPES and payload["measure"] == "plans_updated_per_active"
    assert list(payload["rows"][0]) == ["month", "value", "mean", "lower_limit", "upper_limit", "special_cause",
                                        "point_type"]
    result = runner.invoke(app, ["activity", "--month", "1999-01"])
    assert result.exit_code == 2 and "not in the records" in result.output and "Traceback" not in result.output
    result = runner.invoke(app, ["activity", "--level", "lsoa", "--role", "social_care"])
    assert result.exit_code == 3
    assert "cli_activity" in env.read_text()
