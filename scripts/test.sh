#!/usr/bin/env bash
# The README's test command: install the project with its test extras, make sure the browser the
# end-to-end tests drive is present, then run the whole suite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install --quiet --disable-pip-version-check -e ".[test]"
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  echo "installing Debian chromium + chromium-driver for the browser tests" >&2
  if command -v apt-get >/dev/null 2>&1; then
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; } >/dev/null \
      || echo "warning: could not install chromium; browser tests will fail" >&2
  fi
fi
if ! command -v pdftotext >/dev/null 2>&1 || ! fc-list 2>/dev/null | grep -q "Liberation Sans"; then
  echo "installing Debian poppler-utils and fonts-liberation for the figure-export tests" >&2
  if command -v apt-get >/dev/null 2>&1; then
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq poppler-utils fonts-liberation \
        fonts-dejavu-core; } >/dev/null || echo "warning: could not install poppler-utils; export tests will skip" >&2
  fi
fi
lint-imports  # the one-way layers (pyproject.toml [tool.importlinter]) before anything else
exec python -m pytest "$@"
