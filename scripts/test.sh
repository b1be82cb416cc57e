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
if ! command -v java >/dev/null 2>&1; then
  echo "installing a headless Java runtime for the Spark tests" >&2
  if command -v apt-get >/dev/null 2>&1; then
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq default-jre-headless; } >/dev/null \
      || echo "warning: could not install Java; the Spark tests will fail" >&2
  fi
fi
lint-imports  # the one-way layers (pyproject.toml [tool.importlinter]) before anything else
exec python -m pytest "$@"
