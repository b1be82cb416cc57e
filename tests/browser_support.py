"""Driving the app in a real Chromium, as a person would: shared by tests/test_browser.py and
scripts/screenshots.py.

Chromium runs headless with software WebGL (the map is MapLibre, which draws with WebGL) and with
every host name except the app's own resolving to nothing: a request to the internet would fail
and show up as a console error, which the tests treat as a failure.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from selenium import webdriver
from selenium.common.exceptions import (
    NoSuchElementException,
    StaleElementReferenceException,
)
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

WINDOW = (1400, 1000)
TIMEOUT = 60  # seconds: the first LSOA view on a busy 2-core CI machine takes a few

# The map's plotly graph div and its MapLibre map; "ready" = data drawn and no camera movement.
_GRAPH = "document.querySelector('#map-graph .js-plotly-plot')"
_MAP_READY = f"""
const gd = {_GRAPH};
if (!gd || !gd.data || !gd.data.length || !gd._fullLayout || !gd._fullLayout.map) return false;
const m = gd._fullLayout.map._subplot.map;
return m.loaded() && !m.isMoving() && (gd.data[0].locations || []).length > 0;
"""
_PROJECT = f"""
const gd = {_GRAPH};
gd.scrollIntoView({{block: 'center'}});
const m = gd._fullLayout.map._subplot.map;
const p = m.project([arguments[0], arguments[1]]);
const r = m.getCanvas().getBoundingClientRect();
return [r.left + p.x, r.top + p.y];
"""


def chromium_options(width: int = WINDOW[0], height: int = WINDOW[1]) -> Options:
    options = Options()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium:
        options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", f"--window-size={width},{height}",
                "--enable-unsafe-swiftshader", "--use-angle=swiftshader", "--disable-extensions",
                "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--lang=en-GB",
                '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost'):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return options


def start_chromium(width: int = WINDOW[0], height: int = WINDOW[1]) -> WebDriver:
    """A headless Chromium through the system chromedriver (never Selenium Manager, which goes online)."""
    driver_path = shutil.which("chromedriver")
    if driver_path is None:
        raise RuntimeError("chromedriver not found: install Debian's chromium and chromium-driver "
                           "(apt-get install chromium chromium-driver)")
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=chromium_options(width, height))
    driver.set_page_load_timeout(TIMEOUT)
    return driver


@contextmanager
def serve_in_thread(flask_app: Any) -> Iterator[str]:
    """Serve a Flask app on a free loopback port for the duration; yields its base URL."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, flask_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


def wait_for(driver: WebDriver, condition: Callable[[WebDriver], Any], what: str, timeout: float = TIMEOUT) -> Any:
    return WebDriverWait(driver, timeout, poll_frequency=0.2, ignored_exceptions=(StaleElementReferenceException, NoSuchElementException)
                         ).until(condition, message=f"waiting for {what}")


def act(driver: WebDriver, by: str, selector: str, action: Callable[[Any], Any], what: str) -> None:
    """Find an element and act on it, finding it again if React redraws it in between."""
    def attempt(d: WebDriver) -> bool:
        action(d.find_element(by, selector))
        return True
    wait_for(driver, attempt, what)


def text_of(driver: WebDriver, css: str) -> str:
    """The element's visible text; "" while it is missing or being redrawn by React."""
    try:
        elements = driver.find_elements("css selector", css)
        return elements[0].text if elements else ""
    except StaleElementReferenceException:
        return ""


def wait_for_text(driver: WebDriver, css: str, expected: str, timeout: float = TIMEOUT) -> str:
    """Wait until the element's visible text contains `expected`; returns the text."""
    wait_for(driver, lambda d: expected in text_of(d, css), f"{css!r} to show {expected!r} "
             f"(it shows {text_of(driver, css)!r})", timeout)
    return text_of(driver, css)


def wait_for_map(driver: WebDriver, timeout: float = TIMEOUT) -> None:
    """The map has drawn its areas and stopped moving; then one more frame for MapLibre to paint."""
    wait_for(driver, lambda d: d.execute_script(_MAP_READY), "the map to draw", timeout)
    time.sleep(0.5)
    wait_for(driver, lambda d: d.execute_script(_MAP_READY), "the map to settle", timeout)


def wait_for_page(driver: WebDriver, *, has_map: bool) -> None:
    """The page's heading is shown, its map (if any) has drawn, and no Dash callback is pending."""
    wait_for(driver, lambda d: d.find_elements("css selector", "h1.page-title"), "the page heading")
    if has_map:
        wait_for_map(driver)
    wait_for(driver, lambda d: d.execute_script(
        "return !document.querySelector('[data-dash-is-loading=\"true\"]')"), "callbacks to finish")


def map_locations(driver: WebDriver) -> list[str]:
    return driver.execute_script(f"return Array.from({_GRAPH}.data[0].locations)")


def click_map_at(driver: WebDriver, lon: float, lat: float) -> None:
    """Point at a place on the map and click, as a mouse does (the hover comes first, as in plotly)."""
    x, y = driver.execute_script(_PROJECT, lon, lat)
    actions = ActionChains(driver)
    actions.w3c_actions.pointer_action.move_to_location(round(x), round(y))
    actions.w3c_actions.pointer_action.pause(0.4)
    actions.w3c_actions.pointer_action.click()
    actions.perform()


def resource_urls(driver: WebDriver) -> list[str]:
    """Every resource the page has requested (scripts, styles, XHR/fetch, images)."""
    return driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")


def resource_bytes_since(driver: WebDriver, start: int) -> tuple[int, list[str]]:
    """Bytes on the wire (transferSize) of requests made after the first `start` entries."""
    entries = driver.execute_script(
        "return performance.getEntriesByType('resource').slice(arguments[0])"
        ".map(e => [e.name, e.transferSize || e.encodedBodySize || 0])", start)
    return sum(size for _, size in entries), [name for name, _ in entries]


def resource_count(driver: WebDriver) -> int:
    return driver.execute_script("return performance.getEntriesByType('resource').length")


def severe_console_messages(driver: WebDriver) -> list[str]:
    return [entry["message"] for entry in driver.get_log("browser") if entry.get("level") == "SEVERE"]


def tab_until(driver: WebDriver, check_js: str, what: str, limit: int = 80) -> None:
    """Press Tab (the keyboard, wherever the focus is) until `check_js`, an expression over `el`
    (document.activeElement), is true; fail naming `what` after `limit` presses."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    for _ in range(limit):
        ActionChains(driver).send_keys(Keys.TAB).perform()
        if driver.execute_script(f"const el = document.activeElement; return !!(el && ({check_js}));"):
            return
    raise AssertionError(f"Tab never reached {what}")


def side_by_side(driver: WebDriver, left_css: str, right_css: str) -> bool:
    """Whether the element `right_css` sits to the right of `left_css` on the same rows (a table beside
    its chart, not below it)."""
    return driver.execute_script(
        "const a = document.querySelector(arguments[0]).getBoundingClientRect();"
        "const b = document.querySelector(arguments[1]).getBoundingClientRect();"
        "return b.left >= a.right - 1 && b.top < a.bottom && a.top < b.bottom;", left_css, right_css)
# --------------------------------------------------------------------------- pointer, screens (issue 14)


def rest_pointer_at(driver: WebDriver, lon: float, lat: float) -> None:
    """Move the pointer onto a place on the map and leave it there (no click)."""
    x, y = driver.execute_script(_PROJECT, lon, lat)
    actions = ActionChains(driver)
    actions.w3c_actions.pointer_action.move_to_location(round(x), round(y))
    actions.w3c_actions.pointer_action.pause(0.4)
    actions.perform()


def hover_label_text(driver: WebDriver) -> str:
    """The map's own hover label (plotly's tooltip), "" when none is shown."""
    return driver.execute_script(
        "return Array.from(document.querySelectorAll('#map-graph .hoverlayer .hovertext'))"
        ".map(e => e.textContent).join(' | ')") or ""


def emulate_screen(driver: WebDriver, width: int, height: int, *, mobile: bool = False) -> None:
    """Lay pages out for a `width` x `height` screen (a phone with `mobile`); `reset_screen` undoes it."""
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile})


def reset_screen(driver: WebDriver) -> None:
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


# What runs past the right edge of the page (not inside a box that scrolls or clips it): "" if nothing.
OVERFLOW_REPORT = """
const iw = window.innerWidth; const bad = [];
document.querySelectorAll('body *').forEach(e => {
  const r = e.getBoundingClientRect();
  if (!(r.width > 0 && r.right > iw + 1)) return;
  for (let p = e.parentElement; p; p = p.parentElement) {
    if (['auto', 'scroll', 'hidden'].includes(getComputedStyle(p).overflowX)
        && p.getBoundingClientRect().right <= iw + 1) return;
  }
  bad.push(e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + ' right=' + Math.round(r.right));
});
return {scrollWidth: document.documentElement.scrollWidth, innerWidth: iw, overflowing: bad.slice(0, 8)};
"""


# Every address in the page that points away from `arguments[0]` (the app's origin): links, forms,
# sources, SVG links, and each plotly graph's cloud settings.
OUTSIDE_LINKS = """
const origin = arguments[0]; const out = [];
const attrs = ['href', 'src', 'action', 'formaction', 'xlink:href', 'data', 'poster', 'srcset'];
document.querySelectorAll('*').forEach(e => {
  attrs.forEach(a => {
    const v = e.getAttribute(a);
    if (!v || v.startsWith('#') || v.startsWith('data:') || v.startsWith('blob:')) return;
    let url; try { url = new URL(v, document.baseURI); } catch (err) { out.push(a + '=' + v); return; }
    if (url.origin !== origin && url.protocol !== 'javascript:') out.push(e.tagName + ' ' + a + '=' + v);
  });
});
document.querySelectorAll('.js-plotly-plot').forEach(gd => {
  const c = gd._context || {};
  if (c.showSendToCloud || c.showEditInChartStudio || c.showLink || c.plotlyServerURL)
    out.push('plotly config of ' + (gd.parentElement && gd.parentElement.id) + ': ' + JSON.stringify(
      {cloud: c.showSendToCloud, studio: c.showEditInChartStudio, link: c.showLink, server: c.plotlyServerURL}));
  gd.querySelectorAll('.modebar-btn').forEach(b => {
    const t = (b.getAttribute('data-title') || '').toLowerCase();
    if (t.includes('cloud') || t.includes('chart studio') || t.includes('plotly')) out.push('toolbar button: ' + t);
  });
});
return out;
"""


# --------------------------------------------------------------------------- AG Grid tables (explorer.app.grid)
_GRID_COLUMN = """
const cells = Array.from(document.querySelectorAll(`#${CSS.escape(arguments[0])} .ag-cell[col-id="${arguments[1]}"]`));
return cells.map(c => [Number(c.closest('.ag-row').getAttribute('row-index')), c.innerText.trim()])
            .sort((a, b) => a[0] - b[0]).map(x => x[1]);
"""


def grid_column(driver: WebDriver, grid_id: str, field: str) -> list[str]:
    """The shown text of a grid column's cells, in row order (the rows AG Grid has drawn)."""
    return driver.execute_script(_GRID_COLUMN, grid_id, field)


def grid_rows_drawn(driver: WebDriver, grid_id: str) -> int:
    """How many rows the grid shows (pinned columns draw a second copy of each row; counted once)."""
    return driver.execute_script(
        "return new Set(Array.from(document.querySelectorAll(`#${CSS.escape(arguments[0])} .ag-row[row-index]`))"
        ".filter(r => r.innerText.trim()).map(r => r.getAttribute('row-index'))).size", grid_id)


def grid_responses_hook() -> str:
    """A script (run before the page's own) that records each getRowsResponse the server sends:
    window.__gridBlocks = [{output, bytes, rows, rowCount, request}]."""
    return """
window.__gridBlocks = [];
const ownFetch = window.fetch;
window.fetch = async function (url, opts) {
  const response = await ownFetch(url, opts);
  try {
    const body = opts && opts.body ? JSON.parse(opts.body) : null;
    if (body && String(body.output).includes('getRowsResponse')) {
      const text = await response.clone().text();
      const out = JSON.parse(text).response;
      const block = Object.values(out).map(o => o.getRowsResponse).find(Boolean) || {};
      const request = (body.inputs || []).find(i => i.property === 'getRowsRequest') || {};
      window.__gridBlocks.push({output: body.output, bytes: text.length, rows: (block.rowData || []).length,
                                rowCount: block.rowCount, request: request.value});
    }
  } catch (e) { /* not a grid block */ }
  return response;
};
"""


def allow_downloads(driver: WebDriver, folder: str) -> None:
    """Save the page's downloads (dcc.Download) into `folder`, as a person's browser would."""
    driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": folder,
                                                           "eventsEnabled": True})


def wait_for_download(folder: Any, suffix: str, before: set | None = None, timeout: float = TIMEOUT) -> Any:
    """The first finished file ending in `suffix` in `folder` (a pathlib.Path) not in `before`."""
    before = before or set()

    def done(_: Any) -> Any:
        files = [p for p in folder.iterdir() if p.name.endswith(suffix) and p not in before]
        return files[0] if files and not any(p.name.endswith(".crdownload") for p in folder.iterdir()) else False
    return WebDriverWait(None, timeout, poll_frequency=0.2).until(done, message=f"waiting for a {suffix} download")


_READABLE_ERRORS = """const _error = console.error;
console.error = (...args) => _error(args.map(a => {
  try { return a && a.stack ? String(a) : (typeof a === 'object' ? JSON.stringify(a).slice(0, 600) : String(a)); }
  catch (e) { return String(a); }
}).join(' | '));"""


def readable_console_errors(driver: WebDriver) -> None:
    """From the next page load on, console errors logged as objects (Dash's renderer logs its errors
    so) are written out as text, so a test can say which error it met."""
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": _READABLE_ERRORS})


_GRID_TABLE = """
let api;
try { api = dash_ag_grid.getApi(arguments[0]); } catch (e) { return null; }
if (!api) return null;
const cols = api.getAllDisplayedColumns();
const rows = [];
api.forEachNodeAfterFilterAndSort(node => rows.push(cols.map(c => {
  const v = api.getCellValue({rowNode: node, colKey: c, useFormatter: true});
  return v === null || v === undefined ? '' : String(v);
})));
return {headers: cols.map(c => c.getColDef().headerName || c.getColId()), rows: rows};
"""


def grid_table(driver: WebDriver, grid_id: str) -> tuple[list[str], list[list[str]]]:
    """A client-side grid as a person reads it: (headers, rows of shown text), every row in the shown
    order (all pages, not only the rows AG Grid has drawn); ([], []) until the grid is ready."""
    got = driver.execute_script(_GRID_TABLE, grid_id)
    return (got["headers"], got["rows"]) if got else ([], [])


# --------------------------------------------------------------------------- servers shared by the browser tests
class DemoServers:
    """Demo apps (one per role, made on first use) served on loopback until `close`: the base URL of
    the `role`'s app is `servers[role]`. tests/conftest.py keeps one for the whole session, so every
    browser test file drives the same servers over one warm AppData."""

    def __init__(self, make_app: Callable[[str], Any]) -> None:
        from contextlib import ExitStack

        self._make_app = make_app
        self._stack = ExitStack()
        self._urls: dict[str, str] = {}
        self._lock = threading.Lock()

    def __getitem__(self, role: str) -> str:
        with self._lock:
            if role not in self._urls:
                self._urls[role] = self._stack.enter_context(serve_in_thread(self._make_app(role).server))
            return self._urls[role]

    def close(self) -> None:
        self._stack.close()
