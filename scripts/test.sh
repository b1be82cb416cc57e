#!/usr/bin/env bash
# The README's test command: install the project with its test extras, make sure the Debian tools
# the tests drive are present (Chromium for the browser tests and kaleido, poppler and fonts for
# reading exports back, a Java runtime for the Spark tests), then run the whole suite. Extra
# arguments go to pytest. The suite runs on two pytest-xdist workers (PYTEST_WORKERS, default 2:
# the CI machines have 2 cores; four were slower). `--dist loadgroup`: the browser tests are two
# groups (tests/conftest.py), one per worker, each against its own servers; then both workers take the
# rest test by test; the London (and England) fixtures are built once for both.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install --quiet --disable-pip-version-check -e ".[test]"

missing=()
{ command -v chromium && command -v chromedriver; } >/dev/null 2>&1 || missing+=(chromium chromium-driver)
command -v pdftotext >/dev/null 2>&1 || missing+=(poppler-utils)
fc-list 2>/dev/null | grep -q "Liberation Sans" || missing+=(fonts-liberation fonts-dejavu-core)
command -v java >/dev/null 2>&1 || missing+=(default-jre-headless)
if ((${#missing[@]})); then
  echo "installing Debian packages the tests need: ${missing[*]}" >&2
  if command -v apt-get >/dev/null 2>&1; then
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"; } >/dev/null \
      || echo "warning: could not install ${missing[*]}; the tests that need them will fail" >&2
  fi
fi

lint-imports  # the one-way layers (pyproject.toml [tool.importlinter]) before anything else
exec python -m pytest -n "${PYTEST_WORKERS:-2}" --dist loadgroup "$@"
