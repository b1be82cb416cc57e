"""The SPC page's pure parts: the view's URL round trip, the table and badges shown, the summary
of change matrix and the figure (MDC colours, limits broken at a rebase, target line). No fixtures."""

from __future__ import annotations

import pandas as pd
import pytest

from explorer.app.presenters.spc import badge, change_matrix, display_table
from explorer.app.state import InvalidInput
from explorer.app.state_spc import SpcView, parse_target
from explorer.domain import spc
from explorer.domain.metrics import Filters
from explorer.figures import theme
from explorer.figures.spc import spc_figure

MONTHS = [f"2025-{m:02d}" for m in range(1, 13)]
AREAS = {"E54000027": "ics", "E01000001": "lsoa"}


def test_view_round_trips_through_the_url():
    view = SpcView(area="E54000027", metric="reviewed_in_period", filters=Filters(frailty=("severe",)),
                   target=72.5, baseline=6, rebase="2025-07")
    back = SpcView.from_query(view.to_query(), metrics=("reviewed_in_period",), area_level=AREAS, months=MONTHS)
    assert back == view
    assert view.to_query()["target"] == "72.5" and SpcView(target=80.0).to_query()["target"] == "80"


@pytest.mark.parametrize("query", [{"target": "abc"}, {"target": "inf"}, {"baseline": "1"}, {"baseline": "99"},
                                   {"rebase": "2025-01"}, {"rebase": "2031-01"}, {"area": "E01000001"}])
def test_unusable_url_values_fall_back_to_defaults(query):
    view = SpcView.from_query(query, levels=("ics", "place", "pcn"), metrics=("coverage",), area_level=AREAS,
                              months=MONTHS)
    assert view == SpcView()  # the first month cannot start a new segment; an LSOA is beyond these levels


@pytest.mark.parametrize("bad", ["x", float("nan"), float("inf"), 1e12, True, [1]])
def test_target_box_refuses_what_no_number_box_sends(bad):
    with pytest.raises(InvalidInput):
        parse_target(bad)
    assert parse_target(None) is None and parse_target(80) == 80.0


def chart_table():
    values = [10, 12, 11, 13, 12, 14, 10, 12, 18, float("nan")]
    return spc.xmr_chart(values, higher_is_better=True, baseline=8).table.assign(month=MONTHS[:10])


def test_display_table_names_rules_and_hides_suppressed_months():
    shown = display_table(chart_table(), 1, "Value (%)")
    assert list(shown.columns[:2]) == ["Month", "Value (%)"]
    assert shown["Rule fired"].iloc[8] == "Beyond a limit"
    assert shown["Point"].iloc[8] == "Improving, high"
    assert shown.iloc[9, 1] == "*" and shown["Point"].iloc[9].startswith("hidden")


def test_badges_say_the_icon_in_words_with_a_colour_class():
    text, cls = badge("variation", "concerning_low")
    assert "concerning (lower)" in text and "spc-concerning" in cls
    text, cls = badge("assurance", "consistently_fail")
    assert "failing" in text and "spc-consistently-fail" in cls
    assert "set a target" in badge("assurance", None)[0]


def test_change_matrix_places_each_metric_once_with_its_link():
    summary = pd.DataFrame({"metric": ["coverage", "plans", "reviewed_in_period", "high_risk"],
                            "label": ["Coverage", "Plans", "Reviewed", "High risk"],
                            "variation": ["improving_high", "common_cause", "concerning_low", "neither_high"],
                            "assurance": ["consistently_pass", "", "hit_and_miss", ""]})
    rows = {r["key"]: r["cells"] for r in change_matrix(summary, lambda m: f"?metric={m}")}
    assert rows["improving"]["consistently_pass"] == [("Coverage", "?metric=coverage")]
    assert rows["common"][""] == [("Plans", "?metric=plans")]
    assert rows["concerning"]["hit_and_miss"] == [("Reviewed", "?metric=reviewed_in_period")]
    assert rows["neither"][""] == [("High risk", "?metric=high_risk")]
    placed = [m for cells in rows.values() for links in cells.values() for m in links]
    assert len(placed) == 4


def test_figure_colours_points_mdc_style_and_breaks_limits_at_a_rebase():
    table = spc.xmr_chart([10, 11] * 5 + [20, 21] * 5, higher_is_better=False).table
    table = table.assign(month=[f"2024-{m:02d}" for m in range(1, 13)] + [f"2025-{m:02d}" for m in range(1, 9)])
    fig = spc_figure(table, label="Admissions", unit="people", target=15)
    series = fig.data[-1]
    assert set(series.marker.color) == {theme.SPC_COLOURS["improving"], theme.SPC_COLOURS["concerning"]}
    assert "Target" in [t.name for t in fig.data]
    rebased = spc.xmr_chart([10, 11] * 5 + [20, 21] * 5, higher_is_better=False, rebase=[10]).table
    fig = spc_figure(rebased.assign(month=table["month"]), label="Admissions", unit="people")
    upper = next(t for t in fig.data if t.name == "Upper process limit")
    assert list(upper.y).count(None) == 1 and set(fig.data[-1].marker.color) == {theme.SPC_COLOURS["common"]}
