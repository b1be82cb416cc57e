"""What only England's scale shows, checked cheaply: chunks of whole places when places straddle
ICSs, and an app that offers fewer levels for a region (England: no LSOA layer).

England itself is not generated here (about 2 minutes and 56 million people: see
benchmarks/bench_england.py); the app tests use London's data with England's level restriction.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from explorer.app import ids
from explorer.services.app_data import REGION_LEVELS
from explorer.app.factory import create_app
from explorer.app.probe import CallbackProbe, key
from explorer.app.state import MapView
from explorer.synth.cohort import place_chunks

ALL_LEVELS = ("ics", "place", "pcn", "lsoa")


# --------------------------------------------------------------------------- chunks


def test_chunks_hold_whole_places_even_when_a_place_straddles_two_icss():
    # unsorted rows; place P2 lies in two ICSs (13 English LADs straddle two ICBs)
    lsoas = pd.DataFrame({
        "lsoa_code": ["L07", "L01", "L05", "L02", "L04", "L03", "L06", "L08"],
        "place_code": ["P4", "P1", "P3", "P1", "P2", "P2", "P3", "P4"],
        "ics_code": ["I2", "I1", "I2", "I1", "I2", "I1", "I2", "I2"],
    }, index=[10, 11, 12, 13, 14, 15, 16, 17])
    chunks = place_chunks(lsoas, chunk_lsoas=3)
    positions = np.concatenate(chunks)
    assert sorted(positions) == list(range(len(lsoas)))  # every LSOA once, as row positions
    seen: dict[str, int] = {}
    for number, chunk in enumerate(chunks):
        for place in lsoas.iloc[chunk]["place_code"]:
            assert seen.setdefault(place, number) == number, f"{place} is split across chunks"
    assert len(chunks) == 2  # P1+P2 (4 LSOAs >= 3), then P3+P4
    assert set(lsoas.iloc[chunks[0]]["ics_code"]) == {"I1", "I2"}  # a chunk may mix ICSs


def test_england_is_offered_without_the_lsoa_layer():
    assert "england" in REGION_LEVELS and "lsoa" not in REGION_LEVELS["england"]
    assert REGION_LEVELS["england"] == ("ics", "place", "pcn")


# --------------------------------------------------------------------------- the app with fewer levels


@pytest.fixture(scope="module")
def probe(settings, london_app_data):
    data = dataclasses.replace(london_app_data, levels=("ics", "place", "pcn"))  # as England is served
    app = create_app(settings, "london", demo_role="analyst", data=data, warm=False)
    return data, CallbackProbe.for_flask(app.server.test_client())


def _geometry(probe: CallbackProbe, level: str):
    return probe.call("geometry-store", {key(ids.GEOMETRY_REQUEST, "data"): level},
                      [key(ids.GEOMETRY_REQUEST, "data")],
                      wildcard_ids={ids.GEOMETRY_TYPE: [ids.geometry_store(lv) for lv in ALL_LEVELS]})


def test_boundaries_are_sent_only_for_the_levels_offered(probe):
    _, p = probe
    assert _geometry(p, "pcn").status == 200
    assert _geometry(p, "lsoa").status == 403  # even for the analyst, who may see LSOAs in London


def test_a_view_at_a_level_not_offered_never_returns_that_level(probe):
    data, p = probe
    stored = MapView(level="lsoa", metric="coverage").to_store()
    result = p.call("map-values.data", {key(ids.MAP_VIEW, "data"): stored}, [key(ids.MAP_VIEW, "data")])
    if result.status == 200:
        assert result.output(ids.MAP_VALUES, "data")["level"] in data.levels
    else:
        assert result.status == 403


def test_the_region_is_named_after_itself(london_app_data):
    assert london_app_data.level_label("region") == london_app_data.region_name
