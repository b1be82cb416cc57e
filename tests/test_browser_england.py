"""England in a real browser (issue 15, point 4): from the whole-England map, choose Coventry and
Warwickshire in the area list (a native select: keyboard-reachable), drill to LSOA by clicking the
map (place, then PCN), read the table, and check that a filter change at LSOA level moves only
values, within the London budget (tests/test_browser.py), the boundaries fetched once per level.

On the England test world (tests/england_world.py): the records cover that ICS only.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select

from explorer.app import ids
from explorer.app.components import dom_id
from explorer.services.app_geometry import label_points
from tests.browser_support import (
    act,
    click_map_at,
    grid_column,
    map_locations,
    resource_bytes_since,
    resource_count,
    resource_urls,
    serve_in_thread,
    start_chromium,
    text_of,
    wait_for,
    wait_for_map,
    wait_for_page,
    wait_for_text,
)
from tests.england_world import COVENTRY_ICS, COVENTRY_NAME

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TITLE = f"#{ids.MAP_TITLE}"
LEGEND = f"#{ids.MAP_LEGEND}"
LONDON_BUDGET = 60_000  # bytes per filter change on London's LSOA map (tests/test_browser.py)


@pytest.fixture(scope="module")
def england_url(settings, england_app_data) -> Iterator[str]:
    from explorer.app.factory import create_app

    app = create_app(settings, "england", demo_role="analyst", data=england_app_data, warm=False)
    with serve_in_thread(app.server) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    driver = start_chromium()
    yield driver
    driver.quit()


def drawn(browser: WebDriver, codes) -> None:
    """Wait until the map shows exactly these areas (the title changes before the figure does)."""
    wait_for(browser, lambda d: set(map_locations(d)) == set(codes), f"the map to draw {len(codes)} areas", 120)
    wait_for_map(browser)


def target_lsoa(data) -> tuple[str, float, float]:
    """The largest LSOA of the ICS and a point deep inside it: a click there at place and PCN level
    lands in its place and its PCN, whatever their shapes."""
    geometry = data.geometry["lsoa"]
    codes = [c for c in data.codes_within("lsoa", COVENTRY_ICS)]
    shapes = geometry.shapes[[geometry.position[c] for c in codes]]
    biggest = max(range(len(codes)), key=lambda i: shapes[i].area)
    lon, lat = label_points([shapes[biggest]])["points"][0]
    return codes[biggest], lon, lat


def test_choose_an_ics_drill_to_lsoa_and_filter(browser, england_url, england_app_data):
    data = england_app_data
    lsoa, lon, lat = target_lsoa(data)
    pcn = data.parent_of[lsoa]
    place = data.parent_of[pcn]

    browser.get(england_url + "/")
    browser.execute_script("performance.setResourceTimingBufferSize(10000)")
    wait_for_page(browser, has_map=True)
    assert len(map_locations(browser)) == 42  # England's ICSs
    act(browser, By.ID, ids.MAP_AREA_PICKER, lambda el: Select(el).select_by_value(COVENTRY_ICS), "the ICS in the list")
    wait_for_text(browser, TITLE, f"in {COVENTRY_NAME}")
    drawn(browser, data.codes_within("place", COVENTRY_ICS))
    assert place in map_locations(browser)

    click_map_at(browser, lon, lat)  # the place, then its PCNs
    wait_for_text(browser, TITLE, f"in {data.name_of(place)}")
    drawn(browser, data.codes_within("pcn", place))
    click_map_at(browser, lon, lat)  # the PCN, then its LSOAs
    wait_for_text(browser, TITLE, f"by {data.level_label('lsoa')} in {data.name_of(pcn)}")
    drawn(browser, data.codes_within("lsoa", pcn))  # England's LSOA layer fetched, its PCN's drawn
    shown = set(map_locations(browser))
    assert lsoa in shown

    names = wait_for(browser, lambda d: grid_column(d, ids.MAP_TABLE, "area_name"), "the table's rows")
    values = grid_column(browser, ids.MAP_TABLE, "value")
    assert set(names) <= {data.name_of(c) for c in shown}
    assert any(v and v != "*" for v in values), values  # the ICS has records: numbers, not "no data"

    legend = text_of(browser, LEGEND)
    start = resource_count(browser)
    act(browser, By.CSS_SELECTOR, f"[id='{dom_id(ids.map_control('sex'))}'] input[value='female'] + label",
        lambda el: el.click(), "the female option")
    wait_for(browser, lambda d: text_of(d, LEGEND) != legend, "the legend to show the filtered classes")
    wait_for_map(browser)
    sent, urls = resource_bytes_since(browser, start)
    assert all("/_dash-update-component" in u for u in urls), urls  # values only: no boundaries again
    assert sent < LONDON_BUDGET, f"a filter change at LSOA level moved {sent:,} bytes"
    fetched = [u for u in resource_urls(browser) if "/_geometry/" in u]
    assert sorted(fetched) == sorted(set(fetched)) and any(u.endswith("/lsoa.json") for u in fetched)
