"""CSV/formula injection: every CSV the app or the CLI writes neutralises formula-like text cells."""

from __future__ import annotations

import csv
import io
from types import SimpleNamespace

import pandas as pd
import pytest

from explorer.export.safe_cells import safe_cell, safe_frame, safe_text

EVIL = '=HYPERLINK("http://x","click")'


@pytest.mark.parametrize("text", [EVIL, "+SUM(A1)", "-2+3", "@cmd", "\tTAB", "\rCR", "-A1"])
def test_formula_like_text_gets_a_leading_quote(text):
    assert safe_text(text) == "'" + text


@pytest.mark.parametrize("text", ["Barnet", "", "  =x", "'already", "-5", "-2.5", "+1,234", "-0.3%", "1e-3"])
def test_ordinary_text_and_numbers_written_as_text_are_unchanged(text):
    assert safe_text(text) == text


def test_numbers_stay_numbers_including_negative_ones():
    assert safe_cell(-5) == -5 and safe_cell(-2.5) == -2.5 and safe_cell(None) is None
    frame = pd.DataFrame({"area_name": [EVIL, "Camden"], "difference": [-1.5, 2.0], "count": [-3, 4]})
    out = safe_frame(frame)
    assert out["area_name"].tolist() == ["'" + EVIL, "Camden"]
    assert out["difference"].tolist() == [-1.5, 2.0] and pd.api.types.is_float_dtype(out["difference"])
    assert out["count"].tolist() == [-3, 4] and pd.api.types.is_integer_dtype(out["count"])
    assert frame["area_name"].iloc[0] == EVIL  # the caller's frame is not changed


def test_column_names_are_neutralised_too():
    assert list(safe_frame(pd.DataFrame({"=cmd": [1]})).columns) == ["'=cmd"]


def test_cli_csv_output_is_neutralised(capsys):
    from explorer.cli import OutputFormat, emit

    emit(pd.DataFrame({"area_name": [EVIL, "@x"], "value": [-1.25, 3.0], "people": [-5.0, 10.0]}), OutputFormat.csv)
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [r["area_name"] for r in rows] == ["'" + EVIL, "'@x"]
    assert [r["value"] for r in rows] == ["-1.25", "3"] and [r["people"] for r in rows] == ["-5", "10"]


def _ranked(names: list[str]) -> pd.DataFrame:
    """A minimal ranking frame with the columns the outreach table shows."""
    n = len(names)
    frame = pd.DataFrame({"rank": range(1, n + 1), "area_name": names, "area_code": [f"=C{i}" for i in range(n)],
                          "high_risk": [100.0] * n, "high_risk_without_plan": [50.0] * n, "gap": [-5.0] * n,
                          "high_risk_plan_coverage": [50.0] * n, "high_risk_plan_coverage_lower": [40.0] * n,
                          "high_risk_plan_coverage_upper": [60.0] * n,
                          "expected_admissions_without_plan": [12.0] * n,
                          "cumulative_without_plan": [50.0 * (i + 1) for i in range(n)],
                          "reach": [50.0] * n, "targeted": [True] * n})
    for col in ("high_risk", "high_risk_without_plan", "gap", "high_risk_plan_coverage",
                "expected_admissions_without_plan"):
        frame[f"{col}_suppressed"] = False
    return frame


def test_outreach_download_is_neutralised(monkeypatch, london_app_data):
    from explorer.app.pages import outreach
    from explorer.app.state import OutreachView

    monkeypatch.setattr(outreach, "current_role", lambda: "commissioner")
    monkeypatch.setattr(outreach, "_ranked", lambda data, view, policy: _ranked([EVIL, "+Hackney", "Camden"]))
    text = outreach.csv_bytes(london_app_data, OutreachView())
    rows = list(csv.DictReader(line for line in text.splitlines() if not line.startswith("#")))
    assert [r["area_name"] for r in rows] == ["'" + EVIL, "'+Hackney", "Camden"]
    assert rows[0]["area_code"] == "'=C0" and rows[0]["gap_count_plans"] == "-5"
