"""Issue 14's three tasks acted out in a real browser, through the UI only, reading the answers off
the screen and out of the downloaded files (and taking the README's screenshots of each).

(a) a North East London strategist: the gap in care-plan coverage among frail people between the
    most and least deprived quintiles of their ICS, with its CI and the SII;
(b) a South West London commissioner with 2,000 conversations: LSOAs ranked within SWL, every
    conversation lands in SWL, and the CSV opens with numeric columns and a parent column;
(c) with filters ticked: the title, the table caption and the downloaded image and CSV state the
    filters and the "as at" month.
One London data set; a strategist app for (a), a commissioner app for (b) and (c).
"""

from __future__ import annotations

import io
import math
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select

from explorer.app import ids
from explorer.app.components import dom_id
from explorer.domain.access import disclosure_policy_for
from explorer.domain.metrics import Filters
from tests.browser_support import (
    act,
    allow_downloads,
    readable_console_errors,
    severe_console_messages,
    start_chromium,
    text_of,
    wait_for,
    wait_for_download,
    wait_for_page,
    wait_for_text,
)

pytestmark = pytest.mark.browser

NEL, SWL = "E54000029", "E54000031"
# the README's screenshots of the tasks: EXPLORER_SCREENSHOTS=docs/screenshots writes them there
SHOTS = os.environ.get("EXPLORER_SCREENSHOTS")
GAP = f"#{ids.PROFILE_GAP}"


@pytest.fixture(scope="module")
def urls(demo_urls):
    """Role -> base URL of its demo app (the session's servers, shared with the other browser files)."""
    return demo_urls


@pytest.fixture(scope="module")
def browser(tmp_path_factory) -> Iterator[tuple[WebDriver, Path]]:
    folder = tmp_path_factory.mktemp("downloads")
    driver = start_chromium(1400, 1000)
    allow_downloads(driver, str(folder))
    readable_console_errors(driver)
    yield driver, folder
    driver.quit()


def choose(driver: WebDriver, element_id: str, value: str) -> None:
    act(driver, By.ID, element_id, lambda el: Select(el).select_by_value(value), f"{value} in {element_id}")


def tick(driver: WebDriver, component_id: dict | str, value: str) -> None:
    """Click the label of a checkbox or radio option, as a person does."""
    act(driver, By.CSS_SELECTOR, f"[id='{dom_id(component_id)}'] input[value='{value}'] + label",
        lambda el: (el.location_once_scrolled_into_view, el.click()), f"the option {value}")


def nav(driver: WebDriver, name: str) -> None:
    act(driver, By.XPATH, f"//nav//a[normalize-space()='{name}']", lambda el: el.click(), f"the {name} link")


def filters_id(key: str) -> dict:
    return {"type": ids.PROFILE_FILTERS, "key": key}


def shoot(driver: WebDriver, name: str, css: str) -> None:
    if not SHOTS:
        return
    driver.execute_script("document.querySelector(arguments[0]).scrollIntoView({block: 'start'})", css)
    driver.execute_script("window.scrollBy(0, -70)")
    driver.save_screenshot(str(Path(SHOTS) / name))


def console_errors(driver: WebDriver, role: str) -> list[str]:
    """Severe console messages; for a role without outreach, Dash's check that the outreach page's
    callbacks find their components (that page shows the strategist a notice instead) is not one."""
    return [m for m in severe_console_messages(driver)
            if not (role == "strategist" and "ID not found in layout" in m and "outreach-" in m)]


def _number(text: str) -> float:
    return float(text.replace(",", ""))


def test_a_nel_strategist_reads_the_frailty_deprivation_gap_with_ci_and_sii(browser, urls, london_app_data):
    driver, _ = browser
    driver.get(urls["strategist"] + "/")
    wait_for_page(driver, has_map=True)
    nav(driver, "Area profile")
    wait_for_page(driver, has_map=False)
    choose(driver, ids.PROFILE_AREA, NEL)
    tick(driver, ids.PROFILE_GROUPS, "imd_quintile")
    for level in ("mild", "moderate", "severe"):
        tick(driver, filters_id("frailty"), level)
    words = wait_for_text(driver, f"#{ids.PROFILE_GAP}-words", "frailty: mild, moderate, severe")
    wait_for(driver, lambda d: "NHS North East London ICB" in text_of(d, f"#{ids.PROFILE_GAP}-words"), "NEL")
    words = text_of(driver, f"#{ids.PROFILE_GAP}-words")
    assert "Gap (least minus most deprived)" in words and "95% CI" in words and "Slope index of inequality" in words
    # the answer on screen is the service's, computed from the strategist's controlled, whole-PCN groups
    gap = london_app_data.deprivation_gap(NEL, "coverage", Filters(frailty=("mild", "moderate", "severe")), None,
                                          disclosure_policy_for("strategist")).set_index("measure")
    shown = re.search(r"Gap \(least minus most deprived\): ([\d.,-]+) per 1,000 \(95% CI ([\d.,-]+) to ([\d.,-]+)\)",
                      words)
    assert shown, words
    for got, want in zip(map(_number, shown.groups()), gap.loc["difference", ["value", "lower", "upper"]]):
        assert got == pytest.approx(want, rel=5e-3)
    sii = re.search(r"Slope index of inequality ([\d.,-]+) per 1,000 \(95% CI ([\d.,-]+) to ([\d.,-]+)\)", words)
    assert sii and _number(sii.group(2)) < _number(sii.group(1)) < _number(sii.group(3))
    assert _number(sii.group(1)) == pytest.approx(gap.loc["sii", "value"], rel=5e-3)
    table = text_of(driver, f"#{ids.PROFILE_GAP_TABLE}")
    assert "Newcombe" in table and "Katz" in table and "Relative index of inequality (RII)" in table
    caption = text_of(driver, f"#{ids.PROFILE_GAP}-caption")
    assert "strategist role" in caption and "as at" in caption and "whole PCNs" in caption
    assert "frailty=mild%2Cmoderate%2Csevere" in driver.current_url or "frailty=mild,moderate,severe" in driver.current_url
    shoot(driver, "task-nel-gap.png", GAP)
    assert console_errors(driver, "strategist") == []


def test_b_swl_commissioner_spends_2000_conversations_in_swl_lsoas(browser, urls, london_app_data):
    driver, folder = browser
    driver.get(urls["commissioner"] + "/outreach")
    wait_for_page(driver, has_map=False)
    choose(driver, ids.OUT_AREA, SWL)
    tick(driver, ids.OUT_LEVEL, "lsoa")
    act(driver, By.ID, ids.OUT_CAPACITY, lambda el: (el.clear(), el.send_keys("2000", Keys.ENTER)), "the capacity")
    summary = wait_for_text(driver, f"#{ids.OUT_SUMMARY}-reach", "LSOAs of NHS South West London ICB")
    assert summary.startswith("2,000 high-risk people")
    caption = wait_for_text(driver, f"#{ids.OUT_TABLE_CAPTION}", "NHS South West London ICB (ICS)")
    assert "capacity 2,000" in caption and "as at" in caption
    before = set(folder.iterdir())
    act(driver, By.ID, ids.OUT_DOWNLOAD_BUTTON, lambda el: el.click(), "the CSV button")
    path = wait_for_download(folder, ".csv", before)
    assert SWL in path.name
    frame = pd.read_csv(path, comment="#")
    for col in ("high_risk_people", "without_plan_people", "coverage_pct", "coverage_lower_pct", "coverage_upper_pct",
                "reached_people"):
        assert pd.api.types.is_numeric_dtype(frame[col]), col
    reached = frame[frame["reached_people"] > 0]
    assert reached["reached_people"].sum() == 2000
    swl_lsoas = set(london_app_data.codes_within("lsoa", SWL))
    assert set(reached["area_code"]) <= swl_lsoas and set(frame["area_code"]) <= swl_lsoas
    assert set(frame["parent_code"]) <= set(london_app_data.codes_within("pcn", SWL))
    shoot(driver, "task-swl-outreach.png", f"#{ids.OUT_SUMMARY}")
    assert console_errors(driver, "commissioner") == []


def test_c_ticked_filters_are_stated_in_titles_captions_and_downloads(browser, urls):
    driver, folder = browser
    driver.get(urls["commissioner"] + f"/profile?area={SWL}")
    wait_for_page(driver, has_map=False)
    tick(driver, filters_id("sex"), "female")
    tick(driver, filters_id("frailty"), "severe")
    # the key metrics (every metric, filtered: the slowest part of the page) come with the title
    title = wait_for_text(driver, f"#{ids.PROFILE_TITLE}", "sex: female; frailty: severe", timeout=240)
    month = re.search(r"as at (\d+ \w+ \d{4})", title)
    assert month, title
    caption = wait_for_text(driver, f"#{ids.PROFILE_GAP}-caption", "frailty: severe")
    assert f"as at {month.group(1)}" in caption and "sex: female" in caption
    key = text_of(driver, f"#{ids.PROFILE_KEY_TABLE}")
    assert "London, same filters" in key and "frailty: severe" in key
    # the gradient figure downloaded as SVG says who and when
    before = set(folder.iterdir())
    act(driver, By.CSS_SELECTOR, f"#{ids.PROFILE_GRADIENT} button[title='Download this figure as SVG']",
        lambda el: (el.location_once_scrolled_into_view, el.click()), "the SVG button")
    svg = wait_for_download(folder, ".svg", before).read_text()
    assert "frailty: severe" in svg and f"As at {month.group(1)}" in svg
    shoot(driver, "task-filters.png", f"#{ids.PROFILE_TITLE}")
    # the filters follow the nav link to the outreach page and into its CSV
    nav(driver, "Outreach")
    wait_for_text(driver, f"#{ids.OUT_TABLE_CAPTION}", "frailty: severe", timeout=240)  # new filters: cold
    before = set(folder.iterdir())
    act(driver, By.ID, ids.OUT_DOWNLOAD_BUTTON, lambda el: el.click(), "the CSV button")
    text = wait_for_download(folder, ".csv", before).read_text()
    header = [line for line in text.splitlines() if line.startswith("#")]
    assert "# filters: sex: female; frailty: severe" in header and f"# as at: {month.group(1)}" in header
    assert "# area: NHS South West London ICB (ICS)" in header
    frame = pd.read_csv(io.StringIO(text), comment="#")
    assert len(frame) and not math.isnan(frame["high_risk_people"].astype(float).sum())
    assert console_errors(driver, "commissioner") == []
