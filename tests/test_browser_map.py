"""The map's live feedback, offline governance and layouts in a real browser (issue 14, points 5-7).

- A pointer resting on an area while a filter (and then the metric) is changed with the keyboard:
  the "area under the pointer" panel and the map's own hover label show the new values at once.
- No page of any role has a control that links to an outside host (links, forms, sources, the
  chart toolbar's cloud buttons); the toolbar's PNG is named for area, metric and date.
- At 1024x768 the map is on the first screen, its filters in a closed panel that the keyboard opens;
  at 390 pixels wide no page scrolls sideways and tables scroll inside their own box.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver

from explorer.app import ids
from explorer.app.components import dom_id
from explorer.app.pages import PAGES
from explorer.app.presenters.map import hover_details
from explorer.app.state import MapView
from explorer.domain.access import disclosure_policy_for
from explorer.domain.metrics import Filters
from tests.browser_support import (
    OUTSIDE_LINKS,
    OVERFLOW_REPORT,
    emulate_screen,
    hover_label_text,
    reset_screen,
    rest_pointer_at,
    start_chromium,
    text_of,
    wait_for,
    wait_for_map,
    wait_for_page,
    wait_for_text,
)

pytestmark = pytest.mark.browser

HOVER = f"#{ids.MAP_HOVER}"
PAGE_PATHS = [page.PATH for page in PAGES]


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    driver = start_chromium()
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def apps(demo_urls):
    """Role -> base URL of its demo app (the session's servers, shared with the other browser files)."""
    return demo_urls


def press(browser: WebDriver, css: str, key: str) -> None:
    """Focus an element without scrolling and press a key: neither the pointer nor the page moves
    (an element's send_keys would scroll it into view, sliding the map from under the pointer)."""
    browser.execute_script("arguments[0].focus({preventScroll: true})", browser.find_element(By.CSS_SELECTOR, css))
    ActionChains(browser).send_keys(key).perform()


def control(name: str) -> str:
    return f"[id='{dom_id(ids.map_control(name))}']"


def test_a_resting_pointer_sees_new_values_after_a_filter_and_a_metric_change(browser, apps, london_app_data):
    data = london_app_data
    geometry = data.geometry["place"]
    code = geometry.codes[geometry.labels["order"][0]]  # the largest place; its label point is inside it
    lon, lat = geometry.labels["points"][geometry.labels["order"][0]]
    policy = disclosure_policy_for("commissioner")
    view = MapView(level="place", metric="coverage")

    browser.get(apps["commissioner"] + "/?level=place&metric=coverage")
    wait_for_page(browser, has_map=True)
    rest_pointer_at(browser, lon, lat)
    before = hover_details(data, view, code, policy)["value"]
    wait_for_text(browser, HOVER, data.name_of(code))
    wait_for_text(browser, HOVER, before)
    wait_for(browser, lambda d: before in hover_label_text(d), "the map's hover label")

    press(browser, f"{control('age_band')} input[value='85+']", Keys.SPACE)  # the keyboard ticks 85+
    after = hover_details(data, view.with_(filters=Filters(age_band=("85+",))), code, policy)["value"]
    assert after != before
    wait_for_text(browser, HOVER, after)
    wait_for(browser, lambda d: after in hover_label_text(d), f"the hover label to show {after}")
    assert before not in text_of(browser, HOVER)

    metric_css = control("metric")
    press(browser, metric_css, Keys.ARROW_DOWN)  # the next metric, chosen with the keyboard
    metric = browser.find_element(By.CSS_SELECTOR, metric_css).get_attribute("value")
    assert metric != "coverage"
    shown = hover_details(data, view.with_(metric=metric, filters=Filters(age_band=("85+",))), code, policy)
    wait_for_text(browser, HOVER, shown["metric"])
    wait_for_text(browser, HOVER, shown["value"])
    wait_for(browser, lambda d: shown["value"] in hover_label_text(d), "the hover label to follow the metric")


# The analyst sees every page and control; social care the fewest (other content, same components):
# the two ends of the role range, to keep the suite's time (each role walks every page).
@pytest.mark.parametrize("role", ["analyst", "social_care"])
def test_no_page_links_to_an_outside_host(browser, apps, role):
    url = apps[role]
    for path in PAGE_PATHS:
        browser.get(url + path)
        wait_for_page(browser, has_map=path == "/")
        wait_for(browser, lambda d: d.execute_script(  # every chart drawn (its toolbar made), if any
            "return Array.from(document.querySelectorAll('.dash-graph')).every(g => g.querySelector('.main-svg'))"),
            "the page's charts")
        assert browser.execute_script(OUTSIDE_LINKS, url) == [], f"{role} {path}"


def test_the_toolbar_png_is_named_for_area_metric_and_date(browser, apps, london_app_data):
    from explorer.export.items import file_stem

    url = apps["commissioner"]
    browser.get(url + "/?level=place&metric=coverage")
    wait_for_page(browser, has_map=True)
    name = file_stem(london_app_data, None, "coverage", "map")
    read = "return document.querySelector('#map-graph .js-plotly-plot')._context.toImageButtonOptions.filename"
    wait_for(browser, lambda d: d.execute_script(read) == name, f"the map's PNG to be named {name}")
    browser.get(url + "/profile")
    wait_for_page(browser, has_map=False)
    read_all = ("return Array.from(document.querySelectorAll('.js-plotly-plot'))"
                ".map(g => (g._context && g._context.toImageButtonOptions || {}).filename)")
    names = wait_for(browser, lambda d: d.execute_script(read_all) or None, "the profile's charts")
    assert all(n and n.startswith("london_") and n.endswith(name[-10:]) for n in names), names


def test_at_1024_by_768_the_map_is_on_the_first_screen(browser, apps):
    emulate_screen(browser, 1024, 768)
    try:
        browser.get(apps["commissioner"] + "/")
        wait_for_page(browser, has_map=True)
        top, bottom, height = browser.execute_script(
            "const r = document.getElementById(arguments[0]).getBoundingClientRect();"
            "return [r.top, r.bottom, window.innerHeight]", ids.MAP_GRAPH)
        assert 0 < top and bottom <= height, (top, bottom, height)
        panel = f"#{ids.MAP_FILTERS_PANEL}"
        assert browser.execute_script(f"return document.querySelector('{panel}').open") is False
        press(browser, f"{panel} > summary", Keys.ENTER)  # the keyboard opens the filters
        wait_for(browser, lambda d: d.find_element(By.CSS_SELECTOR, f"{control('age_band')} input").is_displayed(),
                 "the filters to open")
    finally:
        reset_screen(browser)


@pytest.mark.parametrize("path", PAGE_PATHS)
def test_on_a_390_pixel_phone_every_page_fits_its_width(browser, apps, path):
    emulate_screen(browser, 390, 844)
    try:
        browser.get(apps["commissioner"] + path)
        wait_for_page(browser, has_map=path == "/")
        report = browser.execute_script(OVERFLOW_REPORT)
        assert report["scrollWidth"] <= report["innerWidth"] and report["overflowing"] == [], report
        # each table sits in a box no wider than the screen, which scrolls if the table is wider
        boxes = browser.execute_script(
            "return Array.from(document.querySelectorAll('table')).map(t => {"
            " let p = t.parentElement; while (p && !['auto', 'scroll'].includes(getComputedStyle(p).overflowX))"
            " p = p.parentElement; return p ? p.getBoundingClientRect().right : t.getBoundingClientRect().right; })")
        assert all(right <= report["innerWidth"] + 1 for right in boxes), boxes
    finally:
        reset_screen(browser)
