"""Data-derived labels cannot inject HTML into charts: plotly renders <a>, <b>... in text it shows."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from explorer.figures import charts, maps
from explorer.figures.classify import classify
from explorer.figures.labels import escape_label, escape_labels

EVIL = '<a href="http://x">evil</a>'
ESCAPED = '&lt;a href="http://x"&gt;evil&lt;/a&gt;'


def _json(fig: go.Figure) -> str:
    return json.dumps(fig.to_plotly_json())


def assert_only_escaped(fig: go.Figure) -> None:
    text = _json(fig)
    assert "<a" not in text and "</a>" not in text, "raw HTML from data reached the figure"
    assert json.dumps(ESCAPED)[1:-1] in text, "the label should still be shown, escaped"


def test_escape_label_escapes_markup_but_not_quotes():
    assert escape_label(EVIL) == ESCAPED
    assert escape_label("Barking & Dagenham") == "Barking &amp; Dagenham"
    assert escape_labels([1, "<b>"]) == ["1", "&lt;b&gt;"]


def _ci_frame(col: str, labels: list[str]) -> pd.DataFrame:
    n = len(labels)
    return pd.DataFrame({col: labels, "value": np.linspace(10, 20, n), "lower": np.linspace(5, 15, n),
                         "upper": np.linspace(15, 25, n), "numerator": [10] * n, "denominator": [100] * n})


FIGURES = {
    "group": lambda: charts.group_figure(_ci_frame("group", [EVIL, "B"]), label=EVIL, unit="%", comparator=12.0,
                                         comparator_name=EVIL),
    "gradient": lambda: charts.gradient_figure(_ci_frame("decile", list(range(1, 11))).assign(decile=range(1, 11)),
                                               label=EVIL, unit="%", comparator=12.0, comparator_name=EVIL,
                                               sii_text=EVIL),
    "funnel": lambda: charts.funnel_figure(
        pd.DataFrame({"area_name": [EVIL, "B"], "value": [10.0, 30.0], "denominator": [100, 1000],
                      "position": ["within 95%", EVIL]}),
        pd.DataFrame({"denominator": [100, 1000], "lower95": [5, 8], "upper95": [15, 12], "lower998": [3, 7],
                      "upper998": [18, 13]}),
        label=EVIL, unit="%", comparator=10.0, comparator_name=EVIL, denominator_label=EVIL),
    "pyramid": lambda: charts.pyramid_figure(pd.DataFrame({"age_band": [EVIL, EVIL], "sex": ["female", "male"],
                                                           "population": [100, 120]})),
    "share": lambda: charts.share_bar_figure(pd.DataFrame({"category": [EVIL, "B"], "value": [40.0, 60.0],
                                                           "count": [40, 60]}), label=EVIL),
    "trend": lambda: charts.trend_figure(_ci_frame("period", [EVIL, "2025-02"]), label=EVIL, unit="%", name=EVIL),
    "cascade": lambda: charts.cascade_figure(pd.DataFrame({"stage": [EVIL, "Has a live plan"],
                                                           "count": [100.0, 50.0], "share": [100.0, 50.0]})),
    "outreach": lambda: charts.outreach_figure(pd.DataFrame({"area_name": [EVIL, "B"], "people": [100, 50],
                                                             "targeted": [True, False]}), people_label=EVIL),
}


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_every_chart_shows_an_html_area_name_only_escaped(name):
    assert_only_escaped(FIGURES[name]())


def test_the_choropleth_escapes_area_names_and_its_title():
    index, classes = classify(np.array([1.0, 2.0, 3.0]), scheme="quantile")
    geojson = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": f"A{i}", "geometry": {"type": "Polygon", "coordinates": [
            [[0, 51], [0.1, 51], [0.1, 51.1], [0, 51]]]}} for i in range(3)]}
    fig = maps.choropleth_figure(geojson, ["A0", "A1", "A2"], [EVIL, "B", "C"], [1.0, 2.0, 3.0], index, classes,
                                 title=EVIL)
    assert_only_escaped(fig)
    assert fig.data[0].text[0] == ESCAPED


def test_the_code_own_markup_still_renders():
    fig = FIGURES["group"]()
    assert fig.data[0].hovertemplate.startswith("<b>%{y}</b><br>")
    assert "<br>10 of 100" in fig.data[0].customdata[0]


def test_the_browser_map_receives_escaped_area_names():
    """assets/explorer.js builds the map figure from the geometry payload's names: they arrive escaped."""
    from explorer.app.shell import browser_geometry

    payload = browser_geometry({"level": "pcn", "codes": ["A", "B"], "names": [EVIL, "Barnet"], "geojson": {}})
    assert payload["names"] == [ESCAPED, "Barnet"] and payload["codes"] == ["A", "B"]
