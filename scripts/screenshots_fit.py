"""Screenshots at small screens for the README (issue 14, point 7): docs/screenshots/fit-*.png.

    explorer serve --demo --port 8050 &
    python scripts/screenshots_fit.py --url http://127.0.0.1:8050

A laptop (1024x768: the map page's first screen, filters folded away) and a phone (390x844, as a
phone lays the page out: the map, the profile and the outreach page, each scrolled to its content).
Same headless Chromium and waits as scripts/screenshots.py.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from screenshots import settle  # noqa: E402 - scripts/ is on sys.path when run as a script

from tests.browser_support import emulate_screen, start_chromium  # noqa: E402

# (file name, width, height, phone?, path and query, element to scroll to the top or None)
SHOTS = [
    ("fit-map-1024x768", 1024, 768, False, "/?level=place&metric=coverage", None),
    ("fit-map-compare-1024x768", 1024, 768, False, "/?level=place&metric=coverage&mode=compare", "#map-graph"),
    ("fit-map-390x844", 390, 844, True, "/?level=ics&metric=coverage", ".col-map"),
    ("fit-profile-390x844", 390, 844, True, "/profile", "#profile-key-table"),
    ("fit-outreach-390x844", 390, 844, True, "/outreach", ".figure-block"),
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8050", help="base URL of a running explorer")
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"), help="folder for the PNGs")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    driver = start_chromium()
    try:
        for name, width, height, phone, path, anchor in SHOTS:
            emulate_screen(driver, width, height, mobile=phone)
            driver.get(args.url.rstrip("/") + path)
            settle(driver, path)
            if anchor:
                driver.execute_script("const e = document.querySelector(arguments[0]);"
                                      "if (e) { e.scrollIntoView({block: 'start'}); window.scrollBy(0, -8); }", anchor)
                time.sleep(1)
            target = args.out / f"{name}.png"
            driver.save_screenshot(str(target))
            print(target)
    finally:
        driver.quit()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
