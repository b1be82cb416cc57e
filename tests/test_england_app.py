"""England in the app at full depth (issue 15, point 4), on the England test world (tests/england_world.py:
the England bundle, synthetic records for Coventry and Warwickshire only).

- Records for chosen ICSs only (`explorer data synth --ics`): people only there, a clear error
  for an ICS the bundle does not hold.
- Every level is offered; an LSOA map within the ICS has values, the rest of England says "no data".
- Boundaries: one gzipped, ETag-cached resource per level; a second load revalidates (304, no body);
  a role beyond its levels is refused.
- The area list of a level too large to list offers England's ICSs, and choosing one narrows the map.
"""

from __future__ import annotations

import gzip
import json

import pandas as pd
import pytest

from explorer.app import ids
from explorer.app.factory import create_app
from explorer.app.geometry import url_for_level
from explorer.app.pages._map_nav import pick
from explorer.app.probe import CallbackProbe, key
from explorer.app.state import MapView
from explorer.domain.access import disclosure_policy_for
from explorer.domain.metrics import Filters
from explorer.errors import ExplorerError
from explorer.records.store import read_table, records_dir
from explorer.synth.scope import within_icss
from tests.england_world import COVENTRY_ICS

pytestmark = pytest.mark.slow  # the England bundle and a million people (built once per session)


@pytest.fixture(scope="module")
def clients(settings, england_app_data):
    """An analyst's and a strategist's demo app on the England data (one AppData)."""
    out = {}
    for role in ("analyst", "strategist"):
        app = create_app(settings, "england", demo_role=role, data=england_app_data, warm=False)
        out[role] = (app, app.server.test_client())
    return out


def test_records_cover_only_the_chosen_ics(settings, england_bundle, england_records):
    assert england_records["ics_scope"] == [COVENTRY_ICS]
    people = read_table(records_dir(settings, "england"), "people", columns=["lsoa_code"])
    lsoas = england_bundle.lsoas
    inside = set(lsoas.loc[lsoas["ics_code"] == COVENTRY_ICS, "lsoa_code"])
    assert set(people["lsoa_code"]) <= inside
    assert england_records["rows"]["people"] == pytest.approx(lsoas.loc[lsoas["ics_code"] == COVENTRY_ICS,
                                                                        "population"].sum(), rel=0.001)


def test_an_unknown_ics_is_a_plain_error(england_bundle):
    with pytest.raises(ExplorerError, match="unknown ICS code.*E54999999.*E54000018 .NHS Coventry"):
        within_icss(england_bundle, ["E54999999"])


def test_the_cli_refuses_an_unknown_ics_and_keeps_the_records(settings, england_records, monkeypatch):
    from typer.testing import CliRunner

    from explorer.cli import app

    for name, value in (("EXPLORER_DATA_DIR", settings.data_dir), ("EXPLORER_CACHE_DIR", settings.cache_dir),
                        ("EXPLORER_MIRROR", settings.mirror)):
        monkeypatch.setenv(name, str(value))
    result = CliRunner().invoke(app, ["data", "synth", "--region", "england", "--ics", "E54999999"])
    assert result.exit_code != 0 and "unknown ICS code(s) E54999999" in result.output
    assert "Traceback" not in result.output
    assert (records_dir(settings, "england") / "records_manifest.json").exists()  # the ICS's records stay


def test_england_offers_every_level_and_no_data_outside_the_ics(england_app_data):
    data = england_app_data
    assert data.levels == ("ics", "place", "pcn", "lsoa")
    assert len(data.geometry["lsoa"].codes) == 33_755 and len(data.geometry["ics"].codes) == 42
    inside = data.table("lsoa", "coverage", Filters(), disclosure_policy_for("analyst"),
                        COVENTRY_ICS)
    assert len(inside) > 500 and inside["coverage"].notna().mean() > 0.9
    icss = data.table("ics", "coverage", Filters(), disclosure_policy_for("analyst"))
    assert icss["coverage"].notna().sum() == 1 and pd.notna(icss.loc[COVENTRY_ICS, "coverage"])


def test_boundaries_are_one_cacheable_resource_per_level(clients, england_app_data):
    _, client = clients["analyst"]
    first = client.get(url_for_level("lsoa"), headers={"Accept-Encoding": "gzip"})
    assert first.status_code == 200 and first.headers["Content-Encoding"] == "gzip"
    assert "no-store" not in first.headers["Cache-Control"] and first.headers["ETag"]
    payload = json.loads(gzip.decompress(first.data))
    assert payload["codes"] == list(england_app_data.geometry["lsoa"].codes)
    assert len(payload["geojson"]["features"]) == 33_755
    assert len(first.data) < 4_000_000  # gzipped: a few MB (11 MB of JSON)
    again = client.get(url_for_level("lsoa"), headers={"Accept-Encoding": "gzip",
                                                       "If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    _, strategist = clients["strategist"]
    assert strategist.get(url_for_level("lsoa")).status_code == 403  # a role sees only its levels
    assert strategist.get(url_for_level("pcn")).status_code == 200


def test_the_area_list_offers_icss_to_narrow_a_large_level(clients, england_app_data):
    _, client = clients["analyst"]
    probe = CallbackProbe.for_flask(client)
    view = MapView(level="lsoa", metric="coverage")
    nav = probe.call(ids.MAP_BREADCRUMB, {key(ids.MAP_VIEW, "data"): view.to_store()}, [key(ids.MAP_VIEW, "data")])
    options = nav.output(ids.MAP_AREA_PICKER, "options")
    assert len(options) == 42 and COVENTRY_ICS in {o["value"] for o in options}
    assert "ICS" in nav.output(ids.MAP_PICKER_HELP, "children")
    narrowed = pick(view, COVENTRY_ICS, england_app_data.levels, england_app_data)
    assert (narrowed.level, narrowed.area) == ("lsoa", COVENTRY_ICS)
    at_ics = pick(MapView(level="ics", metric="coverage"), COVENTRY_ICS, england_app_data.levels,
                           england_app_data)
    assert (at_ics.level, at_ics.area) == ("place", COVENTRY_ICS)  # an area of the mapped level: drill
