"""The tables (AG Grids, explorer.app.grid) in a real Chromium: sorted from the keyboard, the map's
LSOA table paged on the server one page per request. That every grid is named and clean under axe is
checked in tests/test_browser.py's one visit per page (with its rows drawn, on the pages with tables)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver

from explorer.app import ids
from explorer.app.grid import TABLE_PAGE_SIZE
from tests.browser_support import (
    grid_column,
    grid_responses_hook,
    grid_rows_drawn,
    start_chromium,
    wait_for,
    wait_for_page,
)
from tests.test_browser import live_url, open_page  # noqa: F401 - the app served for this module

pytestmark = pytest.mark.browser
SLOW = 180  # seconds: the first LSOA view on a loaded 2-core machine


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    """Chromium that records every block of rows the server sends a grid (window.__gridBlocks)."""
    driver = start_chromium()
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": grid_responses_hook()})
    yield driver
    driver.quit()


def _numbers(texts: list[str]) -> list[float]:
    return [float(t.replace(",", "")) for t in texts if t not in ("*", "")]


def _in_order(numbers: list[float], order) -> bool:
    return len(numbers) > 5 and numbers == order(numbers)


def _blocks(browser: WebDriver) -> list[dict]:
    return browser.execute_script("return window.__gridBlocks")


def test_lsoa_table_sends_one_page_of_rows_per_request(browser, live_url, london_app_data):
    lsoas = len(london_app_data.codes_within("lsoa", None))
    open_page(browser, live_url + "/?level=lsoa")  # the map itself is not waited for: only its table
    wait_for(browser, lambda d: grid_rows_drawn(d, ids.MAP_TABLE) == TABLE_PAGE_SIZE, "the first page of LSOAs",
             timeout=SLOW)
    first = _blocks(browser)
    assert first and all(b["rows"] <= TABLE_PAGE_SIZE for b in first), first
    assert first[-1]["rowCount"] == lsoas > 4000
    assert max(b["bytes"] for b in first) < 6000  # 15 rows, not 4,994
    # the next page, by keyboard: one more request for rows 15-29
    button = browser.find_element(By.CSS_SELECTOR, f"#{ids.MAP_TABLE} .ag-paging-button[aria-label='Next Page']")
    browser.execute_script("arguments[0].focus()", button)
    browser.switch_to.active_element.send_keys(Keys.ENTER)
    wait_for(browser, lambda d: any((b["request"] or {}).get("startRow") == TABLE_PAGE_SIZE for b in _blocks(d)),
             "the request for page 2")
    wait_for(browser, lambda d: f"Page 2 of {-(-lsoas // TABLE_PAGE_SIZE)}" in d.find_element(
        By.CSS_SELECTOR, f"#{ids.MAP_TABLE} .ag-paging-panel").text, "the pager to say page 2")
    blocks = _blocks(browser)
    assert sum(b["rows"] for b in blocks) <= 4 * TABLE_PAGE_SIZE, blocks  # never the whole table
    assert all(b["request"]["endRow"] - b["request"]["startRow"] == TABLE_PAGE_SIZE for b in blocks)


_BEFORE_GRID = """
const grid = document.getElementById(arguments[0]);
const all = Array.from(document.querySelectorAll('a[href], button:not([disabled]), input:not([disabled]), select, [tabindex="0"]'))
  .filter(el => !grid.contains(el) && (el.compareDocumentPosition(grid) & Node.DOCUMENT_POSITION_FOLLOWING)
                && el.getBoundingClientRect().width > 0);
return all[all.length - 1];
"""


def test_grid_headers_are_reached_and_sorted_by_keyboard(browser, live_url):
    """Tab from the control before the map's table lands on a column heading; arrow keys move along
    the headings; Enter sorts (server side) ascending, then descending, and says so (aria-sort)."""
    open_page(browser, live_url + "/?level=pcn")
    wait_for(browser, lambda d: grid_rows_drawn(d, ids.MAP_TABLE) == TABLE_PAGE_SIZE, "the table", timeout=SLOW)
    wait_for_page(browser, has_map=False)
    browser.execute_script("arguments[0].focus()", browser.execute_script(_BEFORE_GRID, ids.MAP_TABLE))
    ActionChains(browser).send_keys(Keys.TAB).perform()
    focused = "const a = document.activeElement; const h = a && a.closest('.ag-header-cell');"
    assert browser.execute_script(f"{focused} return !!h && document.getElementById('{ids.MAP_TABLE}').contains(h)")
    for _ in range(10):
        if browser.execute_script(f"{focused} return h && h.getAttribute('col-id')") == "numerator":
            break
        ActionChains(browser).send_keys(Keys.ARROW_RIGHT).perform()
    header = f"#{ids.MAP_TABLE} .ag-header-cell[col-id='numerator']"
    assert browser.execute_script(f"{focused} return h && h.getAttribute('col-id')") == "numerator"
    for direction, ordered in (("ascending", sorted), ("descending", lambda x: sorted(x, reverse=True))):
        ActionChains(browser).send_keys(Keys.ENTER).perform()
        wait_for(browser, lambda d, want=direction: d.find_element(By.CSS_SELECTOR, header).get_attribute(
            "aria-sort") == want, f"the heading to say {direction}")
        wait_for(browser, lambda d, order=ordered: _in_order(_numbers(grid_column(d, ids.MAP_TABLE, "numerator")),
                                                             order), f"rows sorted {direction} by numerator")
        assert f"sorted by numerator, {direction}" in browser.find_element(By.ID, ids.MAP_TABLE_CAPTION).text
