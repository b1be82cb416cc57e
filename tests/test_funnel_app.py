"""The app's funnel places each area as its own CIs do, so it agrees with the bars and the map."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.app.presenters.tables import numeric_rows
from explorer.app.state import MapView
from explorer.domain import stats
from explorer.domain.disclosure import DisclosurePolicy
from explorer.domain.metrics import Filters


@pytest.mark.parametrize("policy", [DisclosurePolicy(), DisclosurePolicy(enabled=False)])
@pytest.mark.parametrize("metric", ["coverage", "adjusted_coverage", "reviewed_in_period"])
def test_funnel_position_matches_map_significance_and_limits(london_app_data, metric, policy):
    data = london_app_data
    info = data.metric(metric)
    filters = Filters()
    view = MapView(level="pcn", metric=metric, filters=filters)
    points, _, comparator = data.funnel("pcn", metric, filters, view.risk, policy)
    assert len(points) > 10
    # the map's vs-region column (own 95% CI against the region, compare_to_benchmark)
    rows = numeric_rows(data, view, policy).set_index("area_code")
    vs_region = rows.loc[points["area_code"], "vs_region"].to_numpy()
    assert np.array_equal(points["position"].to_numpy() == "within 95%", vs_region == "similar")
    # and the drawn limits at each point's denominator put it on the same side
    kind = info.kind
    v = points["value"].to_numpy()
    lo95, hi95 = stats.funnel_limits(comparator, points["denominator"], kind, 0.95, info.multiplier)
    lo998, hi998 = stats.funnel_limits(comparator, points["denominator"], kind, 0.998, info.multiplier)
    by_lines = np.where((v < lo998) | (v > hi998), "outside 99.8%",
                        np.where((v < lo95) | (v > hi95), "between 95% and 99.8%", "within 95%"))
    assert np.array_equal(by_lines, points["position"].to_numpy())


def test_a_comparator_groups_funnel_is_those_areas_as_controlled_in_the_whole_level(london_app_data):
    """The neighbours' funnel (compare page) shows exactly the group's areas, each with the value and
    position it has in the funnel of the whole level, around the same region value."""
    data, policy = london_app_data, DisclosurePolicy()
    everyone, _, region = data.funnel("pcn", "coverage", Filters(), None, policy)
    group = tuple(everyone["area_code"].head(12)) + ("E00000000",)  # an unknown code is simply absent
    points, _, comparator = data.funnel("pcn", "coverage", Filters(), None, policy, codes=group)
    assert set(points["area_code"]) == set(group[:-1]) and comparator == region
    merged = points.merge(everyone, on="area_code", suffixes=("", "_all"))
    assert (merged["value"] == merged["value_all"]).all() and (merged["position"] == merged["position_all"]).all()
