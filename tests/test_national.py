"""What only England's scale shows, checked cheaply: chunks of whole places when places straddle
ICSs, an app that offers fewer levels for a region when told to, and England itself at full depth
on the England test world (tests/england_world.py: the England bundle and records for one ICS,
Coventry and Warwickshire; the 56 million people of all England are benchmarks/bench_england.py's).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from explorer.app import ids
from explorer.app.geometry import url_for_level
from explorer.services.app_data import REGION_LEVELS
from explorer.app.factory import create_app
from explorer.app.probe import CallbackProbe, key
from explorer.app.state import MapView
from explorer.synth.cohort import place_chunks



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


def test_england_is_offered_at_every_level():
    assert "england" not in REGION_LEVELS  # no restriction: ICS, place, PCN and LSOA


# --------------------------------------------------------------------------- the app with fewer levels


@pytest.fixture(scope="module")
def probe(settings, london_app_data):
    data = dataclasses.replace(london_app_data, levels=("ics", "place", "pcn"))  # as England is served
    app = create_app(settings, "london", demo_role="analyst", data=data, warm=False)
    client = app.server.test_client()
    return data, CallbackProbe.for_flask(client), client


def test_boundaries_are_sent_only_for_the_levels_offered(probe):
    _, _, client = probe
    assert client.get(url_for_level("pcn")).status_code == 200
    assert client.get(url_for_level("lsoa")).status_code == 403  # even for the analyst, who may see LSOAs in London


def test_a_view_at_a_level_not_offered_never_returns_that_level(probe):
    data, p, _ = probe
    stored = MapView(level="lsoa", metric="coverage").to_store()
    result = p.call("map-values.data", {key(ids.MAP_VIEW, "data"): stored}, [key(ids.MAP_VIEW, "data")])
    if result.status == 200:
        assert result.output(ids.MAP_VALUES, "data")["level"] in data.levels
    else:
        assert result.status == 403


def test_the_region_is_named_after_itself(london_app_data):
    assert london_app_data.level_label("region") == london_app_data.region_name
