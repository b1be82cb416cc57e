"""Readable maps and offline governance (issue 14, points 6 and 8), without a browser.

Class counts and the legend's reason when fewer are drawn; the difference view in the chosen
palette; the "compared with the parent" colouring, which must be the same classification as the
map table's significance column; area-name labels sent with the geometry; the one graph config
with no link to an outside service; downloaded files named for area, metric and date.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from explorer.app.presenters import map as present
from explorer.app.presenters import tables
from explorer.app.state import MapView
from explorer.domain.disclosure import DisclosurePolicy
from explorer.export.items import ExportRequest, build_item, file_stem
from explorer.figures import theme
from explorer.figures.classify import NO_DATA_CLASS, SUPPRESSED_CLASS, classify, significance_classes
from explorer.services.app_geometry import LABELLED_LEVELS
from explorer.services.provenance import provenance

# --------------------------------------------------------------------------- class counts


@pytest.mark.parametrize("scheme", ["quantile", "jenks"])
def test_as_many_distinct_areas_as_classes_draw_every_class(scheme):
    # five ICSs with five different values: five colours, one area each (not the lowest two merged)
    index, classes = classify([3.1, 4.2, 5.0, 6.3, 7.7], scheme=scheme)
    assert classes.k == classes.drawn == 5 and classes.note == ""
    assert sorted(index.tolist()) == [0, 1, 2, 3, 4]


def test_ties_give_fewer_classes_and_the_legend_says_why():
    values = [1.0] * 6 + list(range(2, 11))  # 6 of 15 areas tie at the lowest value
    _, classes = classify(values, scheme="quantile")
    assert classes.drawn < 5
    assert classes.note.startswith(f"{classes.drawn} classes, not 5") and "ties" in classes.note
    _, few = classify([0.0, 0.0, 0.0, 100.0, 100.0])
    assert few.drawn == 2 and "only 2 different values" in few.note


@pytest.mark.parametrize("seed", range(20))
def test_classes_drawn_match_those_asked_for_or_the_legend_explains(seed):
    rng = np.random.default_rng(seed)
    values = rng.choice(rng.integers(0, 40, size=rng.integers(1, 12)), size=int(rng.integers(3, 60))).astype(float)
    for scheme in ("quantile", "jenks"):
        index, classes = classify(values, scheme=scheme)
        assert classes.drawn == classes.k  # no empty class in the legend
        assert (classes.drawn == 5) == (classes.note == ""), (scheme, values, classes.note)
        assert sum(e.count for e in classes.legend) == len(values)
        assert set(index.tolist()) == set(range(classes.k))


@pytest.mark.parametrize("palette", ["viridis", "cividis"])
def test_the_difference_view_uses_the_chosen_palette(palette):
    _, classes = classify([-3.2, 1.0, 2.0, 0.1, -0.4], diverging=True, palette=palette, unit="pp")
    assert classes.colours == theme.SEQUENTIAL[palette] and classes.scheme == "diverging"


# --------------------------------------------------------------------------- compared with the parent


def test_significance_classes_follow_polarity_in_fingertips_colours():
    sig = ["better", "similar", "worse", "not compared", "better"]
    index, classes = significance_classes(sig, [False, False, False, False, True], higher_is_better=True,
                                          comparator="London")
    assert index.tolist() == [0, 1, 2, NO_DATA_CLASS, SUPPRESSED_CLASS]
    assert [e.label for e in classes.legend[:3]] == ["Better than London", "Similar to London", "Worse than London"]
    assert classes.colours == tuple(theme.SIGNIFICANCE_COLOURS[s] for s in ("better", "similar", "worse"))
    index, classes = significance_classes(["higher", "lower", "similar"], higher_is_better=None)
    assert index.tolist() == [2, 0, 1] and classes.legend[0].label.startswith("Lower than")


@pytest.mark.parametrize("level", ["ics", "place"])
def test_compared_with_the_parent_is_the_tables_classification(london_app_data, level):
    """The map's classes are the map table's "compared with" column (stats.compare_to_benchmark of
    each area's released 95% CI against London's value): one classification, not two."""
    data, policy = london_app_data, DisclosurePolicy()
    view = MapView(level=level, metric="coverage", mode="compare")
    payload = present.map_payload(data, view, policy)
    assert payload.classes.scheme == "significance"
    labels = payload.arrays["classLabels"]
    assert labels == ["Better than London", "Similar to London", "Worse than London"]
    rows = tables.numeric_rows(data, view, policy)
    word = {"better": "Better than London", "similar": "Similar to London", "worse": "Worse than London"}
    drawn = [labels[int(c)] if c.isdigit() else {"s": "suppressed", "n": "not compared"}[c]
             for c in payload.arrays["c"]]
    assert drawn == [word.get(s, s) for s in rows["vs_region"]]
    assert len(set(drawn)) > 1  # a real comparison, not every area in one class
    legend, _summary, _title = present.values_view(data, view, policy)[1:4]
    assert "compared with London" in str(legend)


def test_compared_with_the_parent_needs_a_confidence_interval(london_app_data):
    data = london_app_data
    metric = next(m for m in data.metrics if not data.metric(m).has_ci)
    out = present.values_view(data, MapView(level="ics", metric=metric, mode="compare"), DisclosurePolicy())
    assert out[0] is None and "no confidence interval" in str(out[4])


# --------------------------------------------------------------------------- labels and names


def test_area_names_travel_with_the_geometry_of_ics_and_place_only(london_app_data):
    geometry = london_app_data.geometry
    for level in ("ics", "place"):
        labels = geometry[level].payload()["labels"]
        assert level in LABELLED_LEVELS and len(labels["points"]) == len(geometry[level].codes)
        assert sorted(labels["order"]) == list(range(len(geometry[level].codes)))
        for (lon, lat), b in zip(labels["points"], geometry[level].bounds):
            assert b[0] <= lon <= b[2] and b[1] <= lat <= b[3]  # inside the area's box
    assert geometry["lsoa"].payload()["labels"] is None  # thousands of names: not sent, not drawn
    values = present.map_payload(london_app_data, MapView(level="place", metric="coverage"), DisclosurePolicy())
    assert "labels" not in values.arrays  # values only per change: the names came once with the geometry


def test_graph_config_links_to_no_outside_service():
    config = theme.GRAPH_CONFIG
    assert config["showSendToCloud"] is False and config["showEditInChartStudio"] is False
    assert config["showLink"] is False and config["plotlyServerURL"] == ""
    assert {"sendDataToCloud", "editInChartStudio"} <= set(config["modeBarButtonsToRemove"])
    named = theme.graph_config("north-east-london_coverage-map_2026-10-31")
    assert named["toImageButtonOptions"]["filename"] == "north-east-london_coverage-map_2026-10-31"
    assert {k: v for k, v in named.items() if k != "toImageButtonOptions"} == \
        {k: v for k, v in config.items() if k != "toImageButtonOptions"}


def test_downloads_are_named_for_area_metric_and_date(london_app_data):
    data = london_app_data
    ics = data.geometry["ics"].codes[0]
    when = provenance(data).as_at
    assert when and re.fullmatch(r"\d{4}-\d{2}-\d{2}", when)
    slug = re.sub(r"[^a-z0-9]+", "-", data.name_of(ics).lower()).strip("-")
    assert file_stem(data, ics, "coverage", "map") == f"{slug}_coverage-map_{when}"
    assert file_stem(data, None, "coverage", "trend") == f"london_coverage-trend_{when}"
    item = build_item(data, ExportRequest("map", "place", ics, "coverage", role="commissioner"))
    assert item.slug == f"{slug}_coverage-map_{when}"  # the app's PNG/SVG/PDF buttons send f"{slug}.{fmt}"
    payload = present.map_payload(data, MapView(level="place", area=ics, metric="coverage"), DisclosurePolicy())
    assert payload.arrays["filename"] == item.slug  # and the chart toolbar's "download plot" the same
