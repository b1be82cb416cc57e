"""Search, population pyramid and nearest neighbours in a real browser, reached as a person does: the
keyboard only, from the navigation (issue 16). The app is the demo commissioner's (a non-analyst
role), so no count of 1-7 may show. axe and Tab-reachability of these pages run with every page's in
tests/test_browser.py (they are in PAGES)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlparse

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from test_browser import browser, live_url, open_page  # noqa: F401 - module fixtures

from explorer.app import ids
from explorer.domain.metrics import Filters
from tests.browser_support import (
    grid_table,
    side_by_side,
    tab_until,
    text_of,
    wait_for,
    wait_for_page,
    wait_for_text,
)

pytestmark = pytest.mark.browser

SLOW = 240  # s: a first pyramid view runs the engine's age-sex breakdowns (about 60 s at a load of 16 on 2 cores)
PRACTICE, PRACTICE_PCN = "F84003", "U05451"  # Lower Clapton Group Practice, Hackney Marshes PCN (NHS Digital)


def go_by_keyboard(driver, live_url: str, link_text: str, path: str) -> None:  # noqa: F811 - fixture value
    """From the About page, Tab to a navigation link and press Enter."""
    open_page(driver, live_url + "/about")
    wait_for_page(driver, has_map=False)
    tab_until(driver, f"el.tagName === 'A' && el.textContent.trim() === {link_text!r}", f"the {link_text} link")
    driver.switch_to.active_element.send_keys(Keys.ENTER)
    wait_for(driver, lambda d: urlparse(d.current_url).path == path, f"the {link_text} page")
    wait_for(driver, lambda d: d.execute_script("return !document.querySelector('[data-dash-is-loading=\"true\"]')"),
             "the page's first view", timeout=SLOW)


def column(driver, table_id: str, header: str) -> list[str]:
    """A table column's cells as shown."""
    heads, rows = grid_table(driver, table_id)
    index = heads.index(header)
    return [row[index] for row in rows]


def no_small_counts(cells: list[str]) -> bool:
    return not [c for c in cells if c not in ("*", "") and 0 < float(c.replace(",", "")) < 8]


def test_search_finds_a_practice_by_code_and_lands_on_its_pcn_keyboard_only(browser, live_url):  # noqa: F811
    go_by_keyboard(browser, live_url, "Search", "/search")
    tab_until(browser, f"el.id === {ids.SEARCH_INPUT!r}", "the search box")
    browser.switch_to.active_element.send_keys(PRACTICE)
    wait_for_text(browser, f"#{ids.SEARCH_RESULTS}", "LOWER CLAPTON GROUP PRACTICE")
    assert "GP practice" in text_of(browser, f"#{ids.SEARCH_RESULTS}")
    tab_until(browser, f"el.tagName === 'A' && el.getAttribute('href').includes('practice={PRACTICE}')",
              "the practice's result")
    browser.switch_to.active_element.send_keys(Keys.ENTER)
    wait_for(browser, lambda d: urlparse(d.current_url).path == "/profile", "the profile page")
    assert parse_qs(urlparse(browser.current_url).query)["area"] == [PRACTICE_PCN]
    panel = wait_for_text(browser, f"#{ids.PROFILE_PRACTICE}", "registered patients")
    count = int(panel.split("registered patients")[0].split()[-1].replace(",", ""))
    assert count > 1000 and count % 5 == 0  # the practice's whole list, rounded for this role
    wait_for_text(browser, f"#{ids.PROFILE_TITLE}", "HACKNEY MARSHES PCN")


def test_search_by_name_offers_areas_and_practices(browser, live_url):  # noqa: F811
    open_page(browser, live_url + "/search?q=clapton")
    wait_for_text(browser, f"#{ids.SEARCH_RESULTS}", "LOWER CLAPTON GROUP PRACTICE")
    wait_for_text(browser, f"#{ids.SEARCH_STATUS}", "results")


def test_pyramid_from_the_menu_with_table_beside_and_no_small_counts(browser, live_url, london_app_data):  # noqa: F811
    go_by_keyboard(browser, live_url, "Population pyramid", "/pyramid")
    tab_until(browser, f"el.id === {ids.PYRAMID_AREA!r}", "the area list")
    browser.switch_to.active_element.send_keys(Keys.ARROW_DOWN)  # a native select: arrows choose
    wait_for(browser, lambda d: "area=" in d.current_url, "the chosen area in the URL")
    area = parse_qs(urlparse(browser.current_url).query)["area"][0]
    wait_for_text(browser, f"#{ids.PYRAMID_CONTENT} h2", london_app_data.name_of(area), timeout=SLOW)
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, f"#{ids.PYRAMID_GRAPH} .main-svg")
             and grid_table(d, ids.PYRAMID_TABLE)[1], "the chart and table",
             timeout=SLOW)
    assert side_by_side(browser, f"#{ids.PYRAMID_GRAPH}", f"#{ids.PYRAMID_TABLE}")
    title = browser.execute_script(
        f"return document.querySelector('#{ids.PYRAMID_GRAPH} .js-plotly-plot').layout.title.text")
    assert "SYNTHETIC DATA" in title  # the care-plan overlay is synthetic: the figure says so itself
    assert "SYNTHETIC" in browser.find_element(By.ID, ids.BANNER).text
    # a PCN where girls under 16 with a plan are 1-7 people: shown as *, never the number
    raw = london_app_data.raw_table("pcn", "plans", Filters(sex=("female",), age_band=("0-15",)), None)
    small = raw.loc[raw["plans_numerator"].astype(float).between(1, 7), "area_code"].iloc[0]
    open_page(browser, live_url + "/pyramid?" + urlencode({"area": small}))
    wait_for(browser, lambda d: grid_table(d, ids.PYRAMID_TABLE)[1], "the table",
             timeout=SLOW)
    plans = column(browser, ids.PYRAMID_TABLE, "People with a care plan")
    assert len(plans) == 10 and plans[0] == "*" and no_small_counts(plans), plans
    assert no_small_counts(column(browser, ids.PYRAMID_TABLE, "Resident population"))
    assert "SEX=ALL" in text_of(browser, f"#{ids.PYRAMID_CONTENT}")  # registered patients: a total only


def test_neighbours_from_the_menu_explained_with_table_beside(browser, live_url, london_app_data):  # noqa: F811
    go_by_keyboard(browser, live_url, "Nearest neighbours", "/neighbours")
    wait_for(browser, lambda d: "area=" in d.current_url, "the first area in the URL")
    first = parse_qs(urlparse(browser.current_url).query).get("area")
    tab_until(browser, f"el.id === {ids.NEIGHBOURS_AREA!r}", "the area list")
    browser.switch_to.active_element.send_keys(Keys.ARROW_DOWN)
    wait_for(browser, lambda d: parse_qs(urlparse(d.current_url).query).get("area") not in (None, first),
             "another area")
    area = parse_qs(urlparse(browser.current_url).query)["area"][0]
    wait_for_text(browser, f"#{ids.NEIGHBOURS_CONTENT} h2", london_app_data.name_of(area), timeout=SLOW)
    wait_for(browser, lambda d: len(grid_table(d, ids.NEIGHBOURS_TABLE)[1]) > 15,
             "the neighbours table")
    assert side_by_side(browser, f"#{ids.NEIGHBOURS_GRAPH}", f"#{ids.NEIGHBOURS_TABLE}")
    ranks = column(browser, ids.NEIGHBOURS_TABLE, "Rank")
    assert ranks[0] == "this area" and ranks[1:] == [str(i) for i in range(1, 16)]
    page = browser.find_element(By.CSS_SELECTOR, ".neighbours-page").get_attribute("textContent")
    for words in ("z-score", "weighted Euclidean", "Each theme weighs 1", "% aged 65+", "% in urban LSOAs"):
        assert words in page, words
    assert no_small_counts(column(browser, ids.NEIGHBOURS_TABLE, "Population (Census 2021 residents)"))


def test_pcn_neighbours_outside_london_are_marked(browser, live_url):  # noqa: F811
    open_page(browser, live_url + "/neighbours?area=U00070")  # West Merton PCN: a Surrey PCN is among them
    wait_for(browser, lambda d: len(grid_table(d, ids.NEIGHBOURS_TABLE)[1]) > 15,
             "the neighbours table")
    marks = column(browser, ids.NEIGHBOURS_TABLE, "Care-plan data in this app (London)")
    assert "No (outside London)" in marks and marks[0] == "Yes"
    assert "outside London" in text_of(browser, f"#{ids.NEIGHBOURS_CONTENT}")
