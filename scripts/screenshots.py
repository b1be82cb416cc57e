"""Screenshots of a running explorer for the README (docs/screenshots/*.png).

    explorer serve --demo --port 8050 &
    python scripts/screenshots.py --url http://127.0.0.1:8050

Drives headless Debian Chromium (chromium + chromium-driver) exactly as the browser tests do, waits
for each page to finish drawing, and saves one PNG per view. The pictures show the demo's SYNTHETIC
data and its banner; they are taken as the demo's commissioner role.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from explorer.app import ids
from tests.browser_support import start_chromium, wait_for, wait_for_page

# (file name, path and query, what the picture shows)
VIEWS = [
    ("map", "/?level=place&metric=coverage", "coverage of care plans by place, London"),
    ("map-pcn", "/?level=pcn&metric=high_risk_without_plan&palette=cividis",
     "high-risk people without a plan by PCN"),
    ("profile", "/profile", "area profile: deprivation gradient, trend and cascade"),
    ("inequalities", "/inequalities", "inequalities: by deprivation, ethnicity, age; funnel plot"),
    ("outreach", "/outreach", "outreach: ranked LSOAs with high-risk people without a plan"),
    ("spc", "/spc?metric=reviewed_in_period&area=E54000027&target=70",
     "measuring improvement: XmR chart, icons, rule table and summary of change"),
    ("spine", "/spine?area=E54000027&group=E54000025,E54000028,E54000029",
     "spine chart of an ICS against London, its range of ICSs and a comparator group; table beside it"),
    ("overview", "/overview?level=place", "overview (tartan rug): boroughs by every care-plan metric"),
    ("compare", "/compare?level=place&metric=coverage",
     "compare areas: boroughs as bars with 95% CIs, coloured by significance; table beside it"),
    ("about", "/about", "sources, methods and disclosure rules"),
    ("search", "/search?q=kingston", "search: areas and GP practices by name or code"),
    ("pyramid", "/pyramid?area=E09000012", "population pyramid against the parent, with people who have plans"),
    ("neighbours", "/neighbours?area=U00070", "nearest neighbours: 15 most similar PCNs in England"),
]


HEIGHTS = {"spine": 1650, "overview": 1350, "compare": 1350}  # taller windows: the whole figure and table


def _rows(driver, table_id: str) -> list[list[str]]:
    return [[td.text for td in row.find_elements(By.CSS_SELECTOR, "td")]
            for row in driver.find_elements(By.CSS_SELECTOR, f"#{table_id} tbody tr")]


def _enter_capacity(driver) -> None:
    """Type 2,000 conversations into the outreach capacity box and wait for the what-if rows."""
    box = driver.find_element(By.ID, ids.OUT_CAPACITY)
    box.clear()
    box.send_keys("2000", Keys.TAB)
    wait_for(driver, lambda d: any(r and "2,000" in r[2] for r in _rows(d, ids.OUT_WHATIF + "-summary")),
             "the what-if for 2,000 conversations", timeout=300)


def _table(table_id: str, rows: int = 5, graph: str | None = None):
    """Wait for a table's rows and its chart (``graph``, default the table's id + "-graph")."""
    def wait(driver) -> None:
        wait_for(driver, lambda d: len([r for r in _rows(d, table_id) if r]) >= rows, table_id, timeout=300)
        chart = graph or f"{table_id}-graph"
        wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, f"#{chart} .main-svg"), chart, timeout=300)
    return wait


# Issue 17 views: (file name, path and query, what, prepare(driver), element to capture or None, window height)
STEPS = [
    ("spc-summary", "/spc?metric=reviewed_in_period&area=E54000027&target=70",
     "summary of change: every metric by variation and assurance icon", _table(ids.SPC_TABLE, 12, ids.SPC_CHART + "-graph"),
     ids.SPC_SUMMARY, 1000),
    ("outreach-whatif", "/outreach?area=E54000027&wif=deprivation_gap&level=pcn",
     "outreach what-if: 2,000 conversations, coverage and SII before -> after", _enter_capacity, ids.OUT_WHATIF, 1400),
    ("gaps", "/gaps?area=E54000027&level=pcn&measure=ethnicity_not_stated",
     "data gaps: ethnicity not recorded by PCN and by deprivation, charts beside tables",
     _table(ids.GAPS_QUINTILES + "-table"), None, 2000),
    ("activity", "/activity?area=E54000027&level=pcn&rate=plans_created_per_active&org=gp_practice&target=0.5",
     "clinician activity: plans per active GP-practice clinician (SPC), users by organisation type",
     _table(ids.ACT_ORGS + "-table", 5, ids.ACT_ORGS + "-graph"), None, 2000),
]


def settle(driver, path: str) -> None:
    wait_for_page(driver, has_map=path == "/" or path.startswith("/?"))
    wait_for(driver, lambda d: "SYNTHETIC" in d.find_element(By.ID, ids.BANNER).text, "the SYNTHETIC banner")
    wait_for(driver, lambda d: d.execute_script(  # lazily loaded charts and tables have drawn
        "return [...document.querySelectorAll('.graph')].every(g => g.querySelector('.main-svg'))"
        " && [...document.querySelectorAll('.dash-table-container')].every(t => t.querySelector('td, th'))"),
        "the charts and tables")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8050", help="base URL of a running explorer")
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"), help="folder for the PNGs")
    parser.add_argument("--width", type=int, default=1400)
    parser.add_argument("--height", type=int, default=1000)
    parser.add_argument("--only", nargs="*", help="take only these views (file names without .png)")
    parser.add_argument("--only-issue-17", action="store_true", help="only the issue 17 views (SPC summary, "
                        "outreach what-if, data gaps, clinician activity)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    driver = start_chromium(args.width, args.height)
    try:
        for name, path, what in ([] if args.only_issue_17 else VIEWS):
            if args.only and name not in args.only:
                continue
            driver.set_window_size(args.width, HEIGHTS.get(name, args.height))
            driver.get(args.url.rstrip("/") + path)
            settle(driver, path)
            if name in ("pyramid", "neighbours"):  # their charts draw after the page's callbacks
                wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, ".js-plotly-plot .main-svg"), "the chart")
            target = args.out / f"{name}.png"
            driver.save_screenshot(str(target))
            print(f"{target}: {what}")
        for name, path, what, prepare, element, height in STEPS:
            if args.only and name not in args.only:
                continue
            driver.set_window_size(args.width, height)
            driver.get(args.url.rstrip("/") + path)
            settle(driver, path)
            prepare(driver)
            target = args.out / f"{name}.png"
            if element:
                driver.find_element(By.ID, element).screenshot(str(target))
            else:
                driver.save_screenshot(str(target))
            print(f"{target}: {what}")
    finally:
        driver.quit()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
