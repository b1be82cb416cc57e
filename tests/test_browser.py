"""The app in a real browser (headless Debian Chromium), used as a person uses it.

One London app (demo mode, role commissioner) is served on loopback for the module; one Chromium
drives it: drilling by clicking the map, going back with the breadcrumb and the browser's back and
forward buttons, changing the metric and filters, pasting a link, moving with the keyboard only,
and running axe-core on every page. Chromium resolves no host name but the app's, so any request
to the internet fails and is caught as a console error.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlparse

import geopandas as gpd
import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select
from selenium_axe_python import Axe
from shapely.ops import polylabel

from explorer.app import ids
from explorer.app.components import dom_id
from explorer.app.pages import PAGES
from explorer.domain.metrics import METRICS
from explorer.vocab import LEVEL_LABELS
from tests.browser_support import (
    act,
    click_map_at,
    grid_column,
    grid_rows_drawn,
    grid_table,
    map_locations,
    resource_bytes_since,
    resource_count,
    resource_urls,
    severe_console_messages,
    start_chromium,
    text_of,
    wait_for,
    wait_for_map,
    wait_for_page,
    wait_for_text,
)

pytestmark = pytest.mark.browser  # `pytest -m "not browser"` for a quick loop

TITLE = f"#{ids.MAP_TITLE}"
LEGEND = f"#{ids.MAP_LEGEND}"
CRUMBS = f"#{ids.MAP_BREADCRUMB}"
SELECTION = f"#{ids.MAP_SELECTION}"
PAGE_PATHS = [page.PATH for page in PAGES]
PLACE, PCN = LEVEL_LABELS["place"], LEVEL_LABELS["pcn"]


@pytest.fixture(scope="module")
def live_url(demo_urls) -> str:
    """The commissioner's demo app (served for the whole session, shared with the other browser files)."""
    return demo_urls["commissioner"]


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    driver = start_chromium()
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def drill_target(london_bundle, london_app_data) -> dict:
    """A point well inside London's largest LSOA, and the names of the areas above it."""
    lsoas = london_bundle.boundaries("lsoa").to_crs(27700)
    biggest = lsoas.loc[lsoas.geometry.area.idxmax()]
    polygon = biggest.geometry if biggest.geometry.geom_type == "Polygon" else max(
        biggest.geometry.geoms, key=lambda g: g.area)
    point = gpd.GeoSeries([polylabel(polygon, tolerance=10)], crs=27700).to_crs(4326).iloc[0]
    data = london_app_data
    lsoa = str(biggest["lsoa_code"])
    pcn = data.parent_of[lsoa]
    place = data.parent_of[pcn]
    ics = data.parent_of[place]
    return {"lon": point.x, "lat": point.y, "lsoa": lsoa, "pcn": pcn, "place": place, "ics": ics,
            "names": {code: data.name_of(code) for code in (lsoa, pcn, place, ics)}}


def open_page(browser: WebDriver, url: str) -> None:
    browser.get(url)
    browser.execute_script("performance.setResourceTimingBufferSize(10000)")


def query(browser: WebDriver) -> dict[str, list[str]]:
    return parse_qs(urlparse(browser.current_url).query)


def control(name: str) -> str:
    """CSS selector of a map control (pattern-matching id rendered as JSON)."""
    return f"[id='{dom_id(ids.map_control(name))}']"


def tick(browser: WebDriver, name: str, value: str) -> None:
    """Click the label of a checkbox or radio option, as a person does."""
    act(browser, By.CSS_SELECTOR, f"{control(name)} input[value='{value}'] + label", lambda el: el.click(),
        f"the {name} option {value}")


def view_snapshot(browser: WebDriver) -> dict:
    """What a person reads on the map page: title, breadcrumb, legend, selection, first table page."""
    wait_for_map(browser)
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, f"#{ids.MAP_TABLE} .ag-cell"), "the table")
    return {"title": text_of(browser, TITLE), "crumbs": text_of(browser, CRUMBS), "legend": text_of(browser, LEGEND),
            "selection": text_of(browser, SELECTION), "table": text_of(browser, f"#{ids.MAP_TABLE}"),
            "areas": sorted(map_locations(browser))}


# --------------------------------------------------------------------------- drilling


def test_drill_from_london_to_an_lsoa_and_back(browser, live_url, drill_target):
    names = drill_target["names"]
    open_page(browser, live_url + "/")
    wait_for_text(browser, TITLE, "by ICS in London")
    wait_for_map(browser)
    assert len(map_locations(browser)) == 5  # London's five ICSs

    steps = [("ics", "place"), ("place", "pcn"), ("pcn", "lsoa")]
    for level, shown_level in steps:  # click the same spot at each level: ICS -> place -> PCN -> LSOA
        click_map_at(browser, drill_target["lon"], drill_target["lat"])
        code = drill_target[level]
        wait_for_text(browser, TITLE, f"by {LEVEL_LABELS[shown_level]} in {names[code]}")
        assert query(browser)["area"] == [code]
        assert names[code] in text_of(browser, CRUMBS)
        wait_for_map(browser)
    assert drill_target["lsoa"] in map_locations(browser)

    click_map_at(browser, drill_target["lon"], drill_target["lat"])  # at the lowest level: select the LSOA
    wait_for_text(browser, SELECTION, f"Selected: {names[drill_target['lsoa']]}")
    assert query(browser)["sel"] == [drill_target["lsoa"]]
    selection = text_of(browser, SELECTION)
    assert "95% confidence interval" in selection and "Denominator" in selection

    crumbs = text_of(browser, CRUMBS)  # London > ICS > place > PCN, each named with its level
    assert f"{names[drill_target['place']]} (place)" in crumbs and f"{names[drill_target['pcn']]} (PCN)" in crumbs
    assert [crumbs.index(n) for n in ("London", names[drill_target["ics"]], names[drill_target["place"]],
                                      names[drill_target["pcn"]])] == sorted(
        crumbs.index(n) for n in ("London", names[drill_target["ics"]], names[drill_target["place"]],
                                  names[drill_target["pcn"]]))

    # the breadcrumb goes back up: to the place, then to London
    act(browser, By.XPATH, f"//button[contains(@class,'crumb-button')][starts-with(normalize-space(.),"
                           f" \"{names[drill_target['place']]}\")]", lambda el: el.click(), "the place's breadcrumb")
    wait_for_text(browser, TITLE, f"by {PCN} in {names[drill_target['place']]}")
    act(browser, By.XPATH, "//button[contains(@class,'crumb-button')][normalize-space(.)='London']",
        lambda el: el.click(), "the London breadcrumb")
    wait_for_text(browser, TITLE, "by ICS in London")
    assert "area" not in query(browser)
    wait_for_map(browser)
    assert len(map_locations(browser)) == 5


def test_back_and_forward_buttons_walk_the_views(browser, live_url, drill_target):
    names = drill_target["names"]
    open_page(browser, live_url + "/")
    wait_for_map(browser)
    click_map_at(browser, drill_target["lon"], drill_target["lat"])
    wait_for_text(browser, TITLE, f"by {PLACE} in {names[drill_target['ics']]}")
    wait_for_map(browser)
    click_map_at(browser, drill_target["lon"], drill_target["lat"])
    wait_for_text(browser, TITLE, f"by {PCN} in {names[drill_target['place']]}")

    browser.back()
    wait_for_text(browser, TITLE, f"by {PLACE} in {names[drill_target['ics']]}")
    assert query(browser)["area"] == [drill_target["ics"]]
    browser.back()
    wait_for_text(browser, TITLE, "by ICS in London")
    browser.forward()
    wait_for_text(browser, TITLE, f"by {PLACE} in {names[drill_target['ics']]}")
    wait_for_map(browser)
    assert drill_target["place"] in map_locations(browser)
    # the radio for the level follows the URL
    checked = browser.find_element(By.CSS_SELECTOR, f"{control('level')} input:checked")
    assert checked.get_attribute("value") == "place"


# --------------------------------------------------------------------------- metric and filters


def test_metric_and_filter_changes_redraw_values_not_geometry(browser, live_url):
    open_page(browser, live_url + "/?level=place")
    wait_for_text(browser, TITLE, f"by {PLACE} in London")
    before = view_snapshot(browser)
    assert len(before["areas"]) == 33  # London's 32 boroughs and the City

    act(browser, By.CSS_SELECTOR, control("metric"), lambda el: Select(el).select_by_value("high_risk_without_plan"),
        "the metric list")
    wait_for_text(browser, TITLE, f"{METRICS['high_risk_without_plan'].label} by {PLACE} in London")
    assert query(browser)["metric"] == ["high_risk_without_plan"]
    wait_for(browser, lambda d: text_of(d, LEGEND) != before["legend"], "the legend to change")

    legend = text_of(browser, LEGEND)
    start = resource_count(browser)
    tick(browser, "age_band", "85+")
    wait_for(browser, lambda d: query(d).get("age_band") == ["85+"], "the URL to carry the filter")
    wait_for(browser, lambda d: text_of(d, LEGEND) != legend, "the legend to show the filtered classes")
    wait_for_map(browser)
    sent, urls = resource_bytes_since(browser, start)
    assert all(u.startswith(live_url + "/_dash-update-component") for u in urls), urls
    assert sent < 60_000, f"a filter change moved {sent:,} bytes"  # values only: the boundaries stay cached
    assert len(map_locations(browser)) == 33
    assert browser.find_element(By.CSS_SELECTOR, f"{control('age_band')} input[value='85+']").is_selected()


def test_pasted_link_reproduces_the_view(browser, live_url, drill_target):
    open_page(browser, live_url + "/")
    wait_for_map(browser)
    tick(browser, "level", "place")
    wait_for_text(browser, TITLE, f"by {PLACE} in London")
    act(browser, By.CSS_SELECTOR, control("metric"), lambda el: Select(el).select_by_value("completeness"),
        "the metric list")
    wait_for_text(browser, TITLE, f"{METRICS['completeness'].label} by {PLACE}")
    tick(browser, "sex", "female")
    wait_for(browser, lambda d: "female" in str(query(d)), "the URL to carry sex=female")
    act(browser, By.ID, ids.MAP_AREA_PICKER, lambda el: Select(el).select_by_value(drill_target["place"]),
        "the place in the area list")
    wait_for_text(browser, TITLE, f"by {PCN} in {drill_target['names'][drill_target['place']]}")
    tick(browser, "palette", "cividis")
    wait_for(browser, lambda d: query(d).get("palette") == ["cividis"], "the URL to carry the palette")
    shown = view_snapshot(browser)
    link = browser.current_url

    browser.delete_all_cookies()
    open_page(browser, "about:blank")
    open_page(browser, link)  # a colleague pastes the link into a fresh page
    wait_for_text(browser, TITLE, shown["title"])
    assert view_snapshot(browser) == shown
    assert browser.find_element(By.CSS_SELECTOR, f"{control('sex')} input[value='female']").is_selected()
    assert browser.find_element(By.CSS_SELECTOR, f"{control('palette')} input[value='cividis']").is_selected()
    assert Select(browser.find_element(By.CSS_SELECTOR, control("metric"))).first_selected_option.get_attribute(
        "value") == "completeness"


# --------------------------------------------------------------------------- offline, console, accessibility


FOCUSABLE = ("a[href], button:not([disabled]), input:not([disabled]):not([type=hidden]), select:not([disabled]), "
             "textarea:not([disabled]), [tabindex]:not([tabindex='-1'])")


GRID_PAGES = ("/", "/profile", "/inequalities", "/outreach", "/spc")  # pages whose grids fill at first view
SLOW = 180  # seconds: the first LSOA view on a loaded 2-core machine


@pytest.mark.parametrize("path", PAGE_PATHS)
def test_page_loads_offline_cleanly_passes_axe_and_every_control_is_reachable_by_tab(browser, live_url, path):
    """One visit per page, four checks in turn: it loads only from its own host, says SYNTHETIC DATA
    and logs no error; every table (AG Grid) is named, with its rows drawn; axe-core finds no serious
    or critical violation in the whole page, grids included; Tab reaches every control."""
    browser.get_log("browser")  # drop what earlier tests left
    open_page(browser, live_url + path)
    _loads_only_from_its_own_host_without_errors(browser, live_url, path)
    wait_for_page(browser, has_map=path == "/")
    _every_grid_is_named(browser, path)
    _axe_finds_no_serious_or_critical_violations(browser)
    _every_control_is_reachable_with_the_tab_key(browser)


def _loads_only_from_its_own_host_without_errors(browser: WebDriver, live_url: str, path: str) -> None:
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "h1.page-title"), "the page heading")
    wait_for(browser, lambda d: d.execute_script("return document.readyState") == "complete", "the page to load")
    if path == "/":
        wait_for_map(browser)
        marks = browser.execute_script(
            "return (document.querySelector('#map-graph .js-plotly-plot').layout.annotations || []).map(a => a.text)")
        assert "SYNTHETIC DATA" in marks  # in the figure itself, so a PNG of the map says so
    else:
        wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".ag-cell, .js-plotly-plot")
                 or path in ("/about", "/search"), "the page's content")
    urls = resource_urls(browser)
    assert urls, "no requests recorded"
    assert [u for u in urls if not u.startswith(live_url + "/")] == []
    assert "SYNTHETIC DATA" in browser.find_element(By.ID, ids.BANNER).text
    assert severe_console_messages(browser) == []


_GRID_NAMES = """
return Array.from(document.querySelectorAll('.grid-frame')).map(f => {
  const by = f.getAttribute('aria-labelledby');
  return by ? (document.getElementById(by) || {}).textContent || '' : f.getAttribute('aria-label') || '';
});
"""


def _every_grid_is_named(browser: WebDriver, path: str) -> None:
    """On the grid pages, once a grid's rows are drawn (so that axe next checks the grids as a person
    meets them): every grid is named by its caption, heading or figure, not only by its id."""
    if path not in GRID_PAGES:
        return
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".grid-frame .ag-row[row-index]"),
             "a grid's rows", timeout=SLOW)
    wait_for_page(browser, has_map=False)
    names = browser.execute_script(_GRID_NAMES)
    assert names and all(n.strip() for n in names), names
    unnamed = browser.execute_script("return Array.from(document.querySelectorAll('.grid-unnamed'))"
                                     ".map(f => f.getAttribute('aria-label'))")
    assert unnamed == [], f"grids named only by their id: {unnamed}"


def _axe_finds_no_serious_or_critical_violations(browser: WebDriver) -> None:
    axe = Axe(browser)
    axe.inject()
    browser.set_script_timeout(SLOW)
    results = axe.run()
    assert results["passes"], "axe ran no checks"
    bad = [v for v in results["violations"] if v["impact"] in ("serious", "critical")]
    assert bad == [], Axe.report(bad)


def _every_control_is_reachable_with_the_tab_key(browser: WebDriver) -> None:
    # label every visible focusable element; radios count once per group (arrow keys move within it),
    # and so does a table (an AG Grid is one Tab stop: arrow keys move between its headings and cells)
    expected = browser.execute_script(f"""
        const seen = new Set(); const keys = [];
        const grids = Array.from(document.querySelectorAll('.ag-root'));
        document.querySelectorAll("{FOCUSABLE}").forEach((el, i) => {{
            const r = el.getBoundingClientRect(); const style = getComputedStyle(el);
            if (!(r.width > 0 && r.height > 0) || style.visibility === 'hidden' || el.closest('[hidden]')) return;
            const grid = el.closest('.ag-root');
            const k = grid ? 'grid:' + grids.indexOf(grid) : el.type === 'radio' && el.name ? 'radio:' + el.name : 'el:' + i;
            el.dataset.kbKey = k;
            if (!seen.has(k)) {{ seen.add(k); keys.push(k); }}
        }});
        grids.forEach((g, n) => g.querySelectorAll('*').forEach(el => {{ el.dataset.kbKey = 'grid:' + n; }}));
        return keys;""")
    assert len(expected) > 3
    browser.execute_script("document.activeElement && document.activeElement.blur()")
    reached: set[str] = set()
    for _ in range(len(expected) * 2 + 20):
        ActionChains(browser).send_keys(Keys.TAB).perform()  # the keyboard, wherever the focus is
        key = browser.execute_script("return document.activeElement && document.activeElement.dataset.kbKey")
        if key:
            reached.add(key)
        if reached >= set(expected):
            break
    missing = [k for k in expected if k not in reached]
    described = browser.execute_script(
        "return arguments[0].map(k => { const el = document.querySelector(`[data-kb-key=\"${k}\"]`);"
        " return el ? el.outerHTML.slice(0, 120) : k; })", missing)
    assert missing == [], f"not reachable by Tab: {described}"


def test_map_can_be_driven_by_keyboard_alone(browser, live_url):
    open_page(browser, live_url + "/")
    wait_for_map(browser)
    radio = browser.find_element(By.CSS_SELECTOR, f"{control('level')} input[value='ics']")
    browser.execute_script("arguments[0].focus()", radio)
    browser.switch_to.active_element.send_keys(Keys.ARROW_DOWN)  # ICS -> Place
    wait_for_text(browser, TITLE, f"by {PLACE} in London")
    picker = browser.find_element(By.ID, ids.MAP_AREA_PICKER)
    wait_for(browser, lambda d: len(Select(picker).options) > 30, "the area list")
    browser.execute_script("arguments[0].focus()", picker)
    first_area = Select(picker).options[1].text
    browser.switch_to.active_element.send_keys(Keys.ARROW_DOWN)  # a native select: arrow keys choose
    wait_for_text(browser, TITLE, f"by {PCN} in {first_area}")


def test_spc_view_shows_chart_rules_and_no_small_counts(browser, live_url, london_app_data):
    """The SPC page for a PCN and filters with many 1-7 counts: the chart, the icons in words, the rule
    table, and (commissioner) no count of 1-7 anywhere in it; a summary-of-change link opens a chart."""
    from urllib.parse import urlencode

    from explorer.domain.metrics import Filters

    small = Filters(age_band=("85+",), ethnic_group=("other",))
    raw = london_app_data.raw_table("pcn", "plans", small, None)
    num = raw["plans_numerator"].astype(float)
    pcn = str(raw.loc[(num > 0) & (num < 8), "area_code"].iloc[0])
    open_page(browser, live_url + "/spc?" + urlencode({"area": pcn, "metric": "plans", **small.to_query()}))
    wait_for_page(browser, has_map=False)
    wait_for(browser, lambda d: grid_rows_drawn(d, ids.SPC_TABLE) > 12, "the rule table")
    assert "Variation:" in text_of(browser, f"#{ids.SPC_ICONS}")
    title = browser.execute_script(
        f"return document.querySelector('#{ids.SPC_CHART}-graph .js-plotly-plot').layout.title.text")
    assert "SYNTHETIC DATA" in title  # in the figure itself, so a PNG of the chart says so
    header = [h.text for h in browser.find_elements(By.CSS_SELECTOR, f"#{ids.SPC_TABLE} .ag-header-cell-text")]
    assert "Value (people)" in header
    cells = grid_column(browser, ids.SPC_TABLE, "Value (people)")  # every month: the grid draws all its rows
    counts = [float(c.replace(",", "")) for c in cells if c not in ("*", "")]
    assert len(cells) == london_app_data.engine.history_months
    assert not [c for c in counts if 0 < c < 8], cells
    link = browser.find_element(By.CSS_SELECTOR, f"#{ids.SPC_SUMMARY} a")  # a metric charted for this area
    metric = parse_qs(urlparse(link.get_attribute("href")).query)["metric"][0]
    act(browser, By.CSS_SELECTOR, f"#{ids.SPC_SUMMARY} a[href*='metric={metric}&']", lambda el: el.click(),
        f"the {metric} link in the summary of change")
    wait_for(browser, lambda d: query(d).get("metric") == [metric], f"the {metric} chart")
    wait_for_text(browser, f"#{ids.SPC_CHART}", f"{METRICS[metric].label}: XmR chart")


# --------------------------------------------------------------------------- spine chart, overview, compare (issue 16)


VIEWS = {"Spine chart": ("/spine", ids.SPINE_GRAPH, ids.SPINE_TABLE), "Overview": ("/overview", ids.RUG_GRID, None),
         "Compare areas": ("/compare", ids.CMP_GRAPH, ids.CMP_TABLE)}


@pytest.mark.parametrize("name", list(VIEWS))
def test_new_views_are_reached_from_the_nav_with_their_table_beside_them(browser, live_url, name):
    """From the map, a click on the nav link; the figure (or rug) and its table side by side, both
    saying SYNTHETIC DATA, and the caption naming the role and the comparator."""
    path, figure_id, table_id = VIEWS[name]
    open_page(browser, live_url + "/")
    wait_for_page(browser, has_map=True)
    act(browser, By.LINK_TEXT, name, lambda el: el.click(), f"the {name} link")
    wait_for(browser, lambda d: urlparse(d.current_url).path == path, f"the {name} page")
    wait_for_page(browser, has_map=False)
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, f"#{figure_id} .js-plotly-plot, table#{figure_id}"),
             "the figure")
    caption = text_of(browser, ".view-caption")
    assert caption.startswith("SYNTHETIC DATA") and "role: commissioner" in caption and "compared with" in caption
    if table_id is None:  # the rug is itself a table; its plain equivalent follows it
        assert browser.find_elements(By.CSS_SELECTOR, f"#{ids.RUG_TABLE}")
        assert len(browser.find_elements(By.CSS_SELECTOR, f"#{ids.RUG_GRID} a.rug-cell")) > 100
        return
    wait_for(browser, lambda d: grid_table(d, table_id)[1], "the table")
    graph = browser.find_element(By.ID, figure_id).rect
    table = browser.find_element(By.ID, table_id).rect
    assert table["x"] >= graph["x"] + graph["width"] - 1 and table["y"] < graph["y"] + graph["height"]  # beside
    title = browser.execute_script(f"return document.querySelector('#{figure_id} .js-plotly-plot').layout.title.text")
    assert "SYNTHETIC DATA" in title  # in the figure itself, so a PNG of it says so


def test_overview_cell_opens_the_profile_with_the_keyboard_alone(browser, live_url):
    """Tab from the top of the page to the first rug cell, Enter: that area's profile."""
    open_page(browser, live_url + "/overview?level=place")
    wait_for_page(browser, has_map=False)
    browser.find_element(By.TAG_NAME, "body").click()
    href = None
    for _ in range(60):
        ActionChains(browser).send_keys(Keys.TAB).perform()
        active = browser.switch_to.active_element
        if "rug-cell" in (active.get_attribute("class") or ""):
            href = active.get_attribute("href")
            break
    assert href, "no overview cell reached with Tab"
    area = parse_qs(urlparse(href).query)["area"][0]
    ActionChains(browser).send_keys(Keys.ENTER).perform()
    wait_for(browser, lambda d: urlparse(d.current_url).path == "/profile" and query(d).get("area") == [area],
             "the area's profile")
    wait_for_page(browser, has_map=False)
    assert text_of(browser, "h1.page-title").startswith("Area profile")


def test_overview_sorts_by_a_column_header(browser, live_url, london_app_data):
    open_page(browser, live_url + "/overview?level=place")
    wait_for_page(browser, has_map=False)
    act(browser, By.LINK_TEXT, "Care-plan coverage of residents", lambda el: el.click(), "the coverage header")
    wait_for(browser, lambda d: query(d).get("sort") == ["coverage"] and query(d).get("dir") == ["desc"],
             "the view sorted highest first")
    wait_for_page(browser, has_map=False)
    heads = [th.text.replace("▼", "").replace("▲", "").strip() for th in
             browser.find_elements(By.CSS_SELECTOR, f"#{ids.RUG_GRID} thead th")]
    column = heads.index("Care-plan coverage of residents")
    rows = browser.find_elements(By.CSS_SELECTOR, f"#{ids.RUG_GRID} tbody tr")[1:]  # after the comparator row
    values = [float(r.find_elements(By.CSS_SELECTOR, "th, td")[column].text.replace(",", "")) for r in rows
              if r.find_elements(By.CSS_SELECTOR, "th, td")[column].text not in ("*", "")]
    assert len(values) > 20 and values == sorted(values, reverse=True)
# --------------------------------------------------------------------------- issue 17 views


def _table_rows(browser: WebDriver, table_id: str) -> list[list[str]]:
    return grid_table(browser, table_id)[1]


def test_outreach_whatif_reads_coverage_and_sii_change_for_an_entered_capacity(browser, live_url, london_app_data):
    """Type a capacity on the outreach page: the what-if table gives coverage among high-risk people and
    the SII between IMD quintiles before -> after for the area and its parent (the whole region)."""
    ics = london_app_data.geometry["ics"].codes[0]
    open_page(browser, live_url + f"/outreach?area={ics}&wif=deprivation_gap&level=pcn")
    wait_for_page(browser, has_map=False)
    box = browser.find_element(By.ID, ids.OUT_CAPACITY)
    box.clear()
    box.send_keys("2000", Keys.TAB)  # the box is debounced: leaving it sends the value
    wait_for(browser, lambda d: query(d).get("capacity") == ["2000"], "the capacity in the URL")
    summary = ids.OUT_WHATIF + "-summary"
    wait_for(browser, lambda d: len([r for r in _table_rows(d, summary) if r and "2,000" in r[2]]) == 2,
             "the what-if rows for 2,000 conversations")
    rows = [r for r in _table_rows(browser, summary) if r]
    assert rows[0][0] == london_app_data.name_of(ics) and rows[1][0] == "Whole region"
    for _, _, _, coverage, sii in rows:
        before, after = (float(x) for x in coverage.split(" -> "))
        assert after > before  # 2,000 more plans raise coverage among high-risk people
        sii_before, sii_after = (float(x) for x in sii.split(" -> "))
        assert sii_after < sii_before  # the gap-closing ranking narrows the deprivation gap


def test_data_gaps_page_shows_chart_beside_table_with_controlled_counts(browser, live_url, london_app_data):
    ics = london_app_data.geometry["ics"].codes[0]
    open_page(browser, live_url + f"/gaps?area={ics}&level=pcn&measure=ethnicity_not_stated")
    wait_for_page(browser, has_map=False)
    table = ids.GAPS_AREAS + "-table"
    wait_for(browser, lambda d: len(_table_rows(d, table)) > 5, "the area table")
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, f"#{table}-graph .main-svg"), "the area chart")
    header = grid_table(browser, table)[0]
    counts = [header.index(h) for h in ("Registered (GP lists)", "Residents (Census 2021)", "People not recorded")]
    for row in (r for r in _table_rows(browser, table) if r):
        for i in counts:
            if row[i] not in ("*", ""):
                value = float(row[i].replace(",", ""))
                assert value == 0 or (value >= 8 and value % 5 == 0), row
    quintiles = ids.GAPS_QUINTILES + "-table"
    wait_for(browser, lambda d: len([r for r in _table_rows(d, quintiles) if r]) == 5, "the quintile table")
    assert [r[0] for r in _table_rows(browser, quintiles) if r][0] == "1 (most deprived)"
    act(browser, By.CSS_SELECTOR, f"#{dom_id(ids.GAPS_MEASURE)} input[value='registered_per_100_residents']",
        lambda el: el.click(), "the registered-per-residents choice")
    wait_for(browser, lambda d: query(d).get("measure") == ["registered_per_100_residents"], "the measure in the URL")
    wait_for_text(browser, f"#{ids.GAPS_AREAS} h2", "Registered per 100 residents")


def test_clinician_activity_page_shows_spc_and_organisation_types(browser, live_url, london_app_data):
    ics = london_app_data.geometry["ics"].codes[0]
    open_page(browser, live_url + f"/activity?area={ics}&level=pcn&rate=plans_created_per_active&org=gp_practice"
                                  "&target=0.5")
    wait_for_page(browser, has_map=False)
    rules = ids.ACT_CHART + "-table"
    wait_for(browser, lambda d: len([r for r in _table_rows(d, rules) if r]) ==
             london_app_data.engine.history_months, "the SPC rule table")
    assert "Variation:" in text_of(browser, f"#{ids.ACT_ICONS}")
    assert "Assurance:" in text_of(browser, f"#{ids.ACT_ICONS}")
    wait_for_text(browser, f"#{ids.ACT_CHART} h2", f"(GP practice), {london_app_data.name_of(ics)}")
    orgs = [r for r in _table_rows(browser, ids.ACT_ORGS + "-table") if r]
    assert {"GP practice", "Acute trust", "Hospice"} <= {r[0] for r in orgs}
    for row in orgs:
        for cell in row[1:5]:  # users, logged in, more than 10 logins, logins
            if cell not in ("*", ""):
                value = float(cell.replace(",", ""))
                assert value == 0 or (value >= 8 and value % 5 == 0), row
