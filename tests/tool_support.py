"""Command-line tools the export tests read files back with (pdftotext, pdftoppm from poppler-utils).

Locally a missing tool skips the test; in CI (env CI set, as the ``mirror`` fixture in conftest.py)
it fails it, so a runner without poppler-utils cannot pass by skipping the read-back checks."""

from __future__ import annotations

import os
import shutil

import pytest


def needs_tool(tool: str) -> None:
    """Skip (locally) or fail (in CI) when `tool` is not on PATH."""
    if shutil.which(tool) is not None:
        return
    message = f"{tool} not installed (poppler-utils; scripts/test.sh installs it)"
    if os.environ.get("CI"):
        pytest.fail(message)  # CI installs poppler-utils: a missing tool is an error, not a skip
    pytest.skip(message)
