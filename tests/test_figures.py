"""Pure figure functions: classes, legend labels, the suppressed class, colour scales, house style."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from explorer.figures import charts, describe, maps, theme
from explorer.figures.classify import (
    NO_DATA_CLASS,
    SUPPRESSED_CLASS,
    assign_classes,
    class_labels,
    classify,
    discrete_colorscale,
    diverging_breaks,
    format_number,
    jenks_breaks,
    quantile_breaks,
    round_sig,
    round_sig_array,
)

ASSETS = Path(__file__).resolve().parents[1] / "assets"


def test_quantile_breaks_put_equal_numbers_of_areas_in_each_class():
    values = np.arange(1, 101, dtype=float)
    index, classes = classify(values, scheme="quantile")
    assert len(classes.colours) == 5
    assert np.bincount(index).tolist() == [20, 20, 20, 20, 20]


def test_quantile_edges_are_values_that_areas_show_so_no_small_count_appears_between_them():
    controlled = np.array([0.0] * 50 + [10.0] * 30 + [15.0, 20.0] * 10)  # counts after rounding
    breaks = quantile_breaks(controlled, 4)  # interpolating would put an edge at 5 people
    assert set(breaks) <= set(controlled)
    assert not any(0 < b < 8 for b in breaks)


def test_jenks_finds_the_obvious_natural_breaks():
    # three tight clusters: Fisher-Jenks must put the breaks between them (hand check)
    values = [1, 2, 3, 10, 11, 12, 20, 21, 22, 50, 51]
    assert jenks_breaks(values, 4).tolist() == [1, 3, 12, 22, 51]


def test_jenks_on_a_large_input_is_sampled_but_keeps_the_true_extremes():
    values = np.random.default_rng(1).gamma(2, 10, 20_000)
    breaks = jenks_breaks(values, 5)
    assert breaks[0] == values.min() and breaks[-1] == values.max()
    assert len(breaks) == 6 and np.all(np.diff(breaks) > 0)


def test_suppressed_areas_get_their_own_grey_class_named_in_the_legend():
    values = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    suppressed = [False, False, True, False, False, False]
    index, classes = classify(values, suppressed, unit="%")
    assert index[2] == SUPPRESSED_CLASS
    grey = [e for e in classes.legend if e.klass == SUPPRESSED_CLASS]
    assert grey and grey[0].label == "Suppressed: fewer than 8 people" and grey[0].colour == theme.SUPPRESSED_COLOUR
    assert grey[0].count == 1
    # the suppressed value does not shape the classes
    assert 3.0 not in classes.breaks[1:-1]


def test_missing_values_are_no_data_not_zero():
    index, classes = classify([1.0, np.nan, 3.0, 4.0])
    assert index[1] == NO_DATA_CLASS
    assert any(e.label == "No data" for e in classes.legend)


def test_legend_labels_state_the_classes_with_units():
    assert class_labels([0.0, 12.5, 100.0], "%") == ["0% to 12.5%", "12.5% to 100%"]
    assert class_labels([1000, 1500, 2000], "people") == ["1,000 to 1,500", "1,500 to 2,000"]
    assert class_labels([-2.0, -0.5, 0.5, 2.0], "pp", diverging=True) == ["-2pp to -0.5pp", "-0.5pp to +0.5pp",
                                                                          "+0.5pp to +2pp"]


def test_diverging_breaks_are_symmetric_around_zero_with_a_middle_class():
    breaks = diverging_breaks([-3.2, 1.0, 2.0, 0.1], 5)
    assert np.allclose(breaks, -breaks[::-1])
    assert breaks[2] < 0 < breaks[3]
    index, classes = classify([-3.2, 1.0, 2.0, 0.1], diverging=True, unit="pp")
    assert classes.colours == theme.VIRIDIS_5 and classes.scheme == "diverging"  # the chosen palette (default)
    assert index[3] == 2  # a small difference falls in the middle (similar) class


def test_few_distinct_values_give_fewer_classes_not_empty_ones():
    _index, classes = classify([0.0, 0.0, 0.0, 100.0, 100.0])
    assert 1 <= len(classes.colours) <= 2
    assert sum(e.count for e in classes.legend) == 5


def test_class_assignment_is_right_inclusive_and_first_class_closed():
    breaks = np.array([0.0, 10.0, 20.0])
    assert assign_classes([0.0, 10.0, 10.1, 20.0], breaks).tolist() == [0, 0, 1, 1]


def test_palettes_are_colour_blind_safe_and_distinct_from_the_grey_classes():
    assert theme.palette("viridis") == theme.VIRIDIS_5
    assert theme.palette("viridis", 3) == (theme.VIRIDIS_5[0], theme.VIRIDIS_5[2], theme.VIRIDIS_5[4])
    for colours in (theme.VIRIDIS_5, theme.CIVIDIS_5, theme.PUOR_5):
        assert theme.SUPPRESSED_COLOUR not in colours and theme.NO_DATA_COLOUR not in colours
    with pytest.raises(ValueError, match="unknown palette"):
        theme.palette("jet")


def test_discrete_colour_scale_steps_through_no_data_suppressed_then_classes():
    scale = discrete_colorscale(theme.VIRIDIS_5)
    n = 7
    assert scale[0] == [0.0, theme.NO_DATA_COLOUR] and scale[2] == [1 / n, theme.SUPPRESSED_COLOUR]
    # z = class k with zmin=-2.5, zmax=4.5 lands in the middle of its own stop
    for k, colour in enumerate(theme.VIRIDIS_5):
        position = (k + 2.5) / n
        stop = next(c for (lo, c), (hi, _) in zip(scale[::2], scale[1::2]) if lo <= position <= hi)
        assert stop == colour


def test_round_to_three_significant_figures():
    assert round_sig(1234.5) == 1230 and round_sig(0.012345) == 0.0123 and round_sig(0) == 0
    assert round_sig_array(np.array([1234.5, np.nan, 0.5678])).tolist()[::2] == [1230.0, 0.568]
    assert format_number(4.567, "%") == "4.57%" and format_number(70.0, "%") == "70%"
    assert format_number(12345, "people") == "12,300 people"


def _classes():
    return classify([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [False, True, False, False, False, False], unit="%")


def test_choropleth_figure_uses_our_boundaries_on_a_blank_map_with_class_colours():
    index, classes = _classes()
    geojson = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": f"A{i}", "geometry": {"type": "Polygon", "coordinates": [
            [[0, 51], [0.1, 51], [0.1, 51.1], [0, 51]]]}} for i in range(6)]}
    fig = maps.choropleth_figure(geojson, [f"A{i}" for i in range(6)], [f"Area {i}" for i in range(6)],
                                 [1.0, np.nan, 3.0, 4.0, 5.0, 6.0], index, classes, bounds=[0, 51, 0.1, 51.1])
    trace = fig.data[0]
    assert isinstance(trace, go.Choroplethmap)
    assert fig.layout.map.style == "white-bg"
    assert list(trace.z) == index.tolist() and trace.zmin == -2.5 and trace.zmax == classes.k - 0.5
    assert trace.customdata[1] == "Suppressed: fewer than 8 people" and trace.customdata[0] == "1%"
    assert fig.layout.map.center.lat == pytest.approx(51.05, abs=0.01)
    assert "mapbox" not in json.dumps(fig.to_plotly_json())


def test_the_browser_map_takes_its_theme_from_python():
    """assets/explorer.js repeats none of the map's colours and labels: it reads the theme the shell
    sends once (presenters.map.theme_payload, from figures.theme and maps), so they cannot disagree."""
    from explorer.app.presenters.map import theme_payload

    script = (ASSETS / "explorer.js").read_text()
    payload = theme_payload()
    for key, value in (("suppressedColour", theme.SUPPRESSED_COLOUR), ("noDataColour", theme.NO_DATA_COLOUR),
                       ("boundaryColour", theme.BOUNDARY_COLOUR), ("suppressedLabel", theme.SUPPRESSED_LABEL),
                       ("noDataLabel", theme.NO_DATA_LABEL), ("hoverTemplate", maps.HOVER_TEMPLATE),
                       ("syntheticMark", theme.SYNTHETIC_MARK), ("syntheticColour", theme.SYNTHETIC_COLOUR),
                       ("fontFamily", theme.FONT_FAMILY), ("text", theme.TEXT), ("background", theme.BACKGROUND)):
        assert payload[key] == value, key
        assert re.search(rf"\btheme\.{key}\b", script), key  # the browser uses it ...
        assert value not in script, key  # ... and has no copy of its own


def test_figures_carry_no_plotly_template_so_they_stay_small():
    fig = charts.group_figure(pd.DataFrame({"group": ["A", "B"], "value": [1.0, 2.0], "lower": [0.5, 1.5],
                                            "upper": [1.5, 2.5]}), label="Coverage", unit="%", comparator=1.5)
    assert len(fig.to_json()) < 4000
    assert fig.layout.template.to_plotly_json() == {}


def test_group_chart_keeps_numeric_looking_labels_as_categories():
    frame = pd.DataFrame({"group": ["1 (most deprived)", "2", "3", "4", "5 (least deprived)"],
                          "value": [1.0, 2, 3, 4, 5], "lower": [0.5, 1, 2, 3, 4], "upper": [1.5, 3, 4, 5, 6]})
    fig = charts.group_figure(frame, label="Coverage", unit="per 1,000")
    assert fig.layout.yaxis.type == "category" and len(fig.data[0].y) == 5


def test_suppressed_values_are_gaps_not_zeros():
    frame = pd.DataFrame({"decile": range(1, 11), "value": [np.nan] + [5.0] * 9, "lower": [np.nan] + [4.0] * 9,
                          "upper": [np.nan] + [6.0] * 9})
    fig = charts.gradient_figure(frame, label="Coverage", unit="per 1,000")
    assert fig.data[0].y[0] is None or np.isnan(fig.data[0].y[0])
    assert "suppressed" in fig.data[0].customdata[0]


def test_funnel_figure_has_both_limits_and_the_comparator():
    points = pd.DataFrame({"area_name": ["A", "B"], "value": [10.0, 30.0], "denominator": [100, 1000],
                           "position": ["within 95%", "outside 99.8%"]})
    limits = pd.DataFrame({"denominator": [100, 1000], "lower95": [5, 8], "upper95": [15, 12], "lower998": [3, 7],
                           "upper998": [18, 13]})
    fig = charts.funnel_figure(points, limits, label="Coverage", unit="%", comparator=10.0)
    names = {t.name for t in fig.data}
    assert {"95% limits", "99.8% limits", "within 95%", "outside 99.8%"} <= names
    assert describe.describe_funnel(points, label="coverage").startswith("Funnel plot of 2 areas")


def test_pyramid_ticks_are_round_numbers():
    frame = pd.DataFrame({"age_band": ["0-15", "0-15", "65+", "65+"], "sex": ["female", "male"] * 2,
                          "population": [14_405, 15_000, 28_810, 20_000]})
    fig = charts.pyramid_figure(frame)
    ticks = [abs(t) for t in fig.layout.xaxis.tickvals]
    assert all(t % 5000 == 0 for t in ticks)


def test_source_note_flags_synthetic_data_sources_and_suppression():
    note = theme.source_note(synthetic=True, sources=["Synthetic care-plan records"])
    assert note.startswith("SYNTHETIC DATA") and "Synthetic care-plan records" in note
    assert "Indices of Deprivation 2025" in note and "rounded to the nearest 5" in note
    assert "SYNTHETIC" not in theme.source_note(synthetic=False)


def test_map_description_names_classes_and_extremes():
    _, classes = _classes()
    text = describe.describe_map(n_areas=6, level_label="LSOA", within="London", metric_label="Coverage",
                                 classes=classes, highest=("Area 5", 6.0), lowest=("Area 0", 1.0))
    assert "6 LSOA areas in London" in text and "Suppressed: fewer than 8 people (1)" in text
    assert "Highest: Area 5 (6%)" in text


def test_gradient_description_names_quintiles_and_gives_a_percentage_sii_in_points():
    frame = pd.DataFrame({"decile": range(1, 6), "value": [30.0, 35.0, 40.0, 45.0, 50.0]})
    text = describe.describe_gradient(frame, label="Coverage", unit="%", sii=-4.12, sii_lower=-4.48,
                                      sii_upper=-3.75, group="quintile")
    assert "in quintile 1" in text and "in quintile 5" in text and "decile" not in text
    assert "Slope index of inequality -4.12pp (95% CI -4.48pp to -3.75pp)" in text
    per_1000 = describe.describe_gradient(frame, label="Coverage", unit="per 1,000", sii=2.0)
    assert "in decile 1" in per_1000 and "2 per 1,000" in per_1000  # other units are their own


def test_calibration_summary_never_prints_negative_zero():
    from explorer.figures.model_card import calibration_figure, calibration_summary

    report = {"calibration_slope": 0.987, "calibration_intercept": -0.0004,
              "deciles": [{"decile": 1, "mean_predicted": 0.01, "observed_rate": 0.012, "observed_rate_lower": 0.01,
                           "observed_rate_upper": 0.014, "n": 100, "observed": 12, "expected": 10.0}]}
    assert calibration_summary(report) == "calibration slope 0.99, intercept 0.00"
    assert "intercept 0.00" in calibration_figure(report).layout.title.text
    assert calibration_summary({**report, "calibration_intercept": -0.051}).endswith("intercept -0.05")
    assert calibration_summary({**report, "calibration_intercept": 0.051}).endswith("intercept +0.05")


@pytest.mark.parametrize(("comparator", "anchor"), [(4.6, "left"), (100.0, "right")])
def test_comparator_label_sits_on_the_roomier_side_of_its_line(comparator, anchor):
    """Beside a line near the axis start the label runs right; near the end, left: never clipped."""
    frame = pd.DataFrame({"group": ["0-15", "85+"], "value": [0.1, 115.0], "lower": [0.0, 110.0],
                          "upper": [0.2, 120.0]})
    fig = charts.group_figure(frame, label="Coverage", unit="per 1,000", comparator=comparator)
    (label,) = fig.layout.annotations
    assert label.xanchor == anchor
    assert "London" in label.text


def test_mark_synthetic_puts_the_words_in_the_figure_and_makes_room_once():
    fig = charts.group_figure(pd.DataFrame({"group": ["A", "B"], "value": [1.0, 2.0], "lower": [0.5, 1.5],
                                            "upper": [1.5, 2.5]}), label="Coverage", unit="per 1,000")
    top = fig.layout.margin.t
    theme.mark_synthetic(fig)
    assert fig.layout.title.text == "SYNTHETIC DATA"
    assert fig.layout.margin.t == top + theme.SYNTHETIC_MARK_HEIGHT
    theme.mark_synthetic(fig)  # twice is once
    assert fig.layout.title.text == "SYNTHETIC DATA" and fig.layout.margin.t == top + theme.SYNTHETIC_MARK_HEIGHT
    titled = theme.mark_synthetic(theme.house_style(go.Figure(), title="Trend"))
    assert titled.layout.title.text == "SYNTHETIC DATA · Trend"
