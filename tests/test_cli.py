"""The `explorer` command as a user types it."""

from __future__ import annotations

import io
import json

import pandas as pd
from typer.testing import CliRunner

from explorer.cli import app

runner = CliRunner()


def test_summary_prints_csv_with_one_row_per_place(cli_env):
    result = runner.invoke(app, ["summary", "--level", "place", "--region", "london", "--format", "csv"])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(io.StringIO(result.stdout))
    assert len(table) == 33 and {"imd_score", "core20_population_share", "parent_code"} <= set(table.columns)


def test_summary_json_has_rows(cli_env):
    result = runner.invoke(app, ["summary", "--level", "ics", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)["rows"]) == 5


def test_missing_bundle_gives_a_plain_message_not_a_traceback(tmp_path, monkeypatch):
    monkeypatch.setenv("EXPLORER_DATA_DIR", str(tmp_path))
    result = runner.invoke(app, ["summary", "--level", "ics"])
    assert result.exit_code == 2
    assert "explorer data build --region london" in result.output and "Traceback" not in result.output


def test_fetch_without_internet_or_mirror_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("EXPLORER_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("EXPLORER_MIRROR", raising=False)
    monkeypatch.setenv("EXPLORER_URL_RURAL_URBAN_2021", "http://127.0.0.1:9/not-here.csv")  # nothing listens
    result = runner.invoke(app, ["data", "fetch", "--only", "rural_urban_2021"])
    assert result.exit_code == 2 and "EXPLORER_MIRROR" in result.output and "Traceback" not in result.output


def test_fetch_from_mirror_reports_each_file(cli_env, tmp_path, monkeypatch):
    monkeypatch.setenv("EXPLORER_CACHE_DIR", str(tmp_path))
    result = runner.invoke(app, ["data", "fetch", "--only", "rural_urban_2021", "--only", "imd2025"])
    assert result.exit_code == 0, result.output
    assert result.output.count("ok  ") == 2 and "sha256" in result.output


def test_sources_lists_the_registry():
    result = runner.invoke(app, ["data", "sources"])
    assert result.exit_code == 0 and "imd2025" in result.output and "synthetic fallback when absent" in result.output


def test_csv_numbers_are_never_in_exponent_form_and_counts_stay_whole():
    import io
    import sys

    import pandas as pd

    from explorer import cli

    frame = pd.DataFrame({"denominator": [2088101.0, None], "rate": [4.788081234, 12345678.9]})
    buffer, stdout = io.StringIO(), sys.stdout
    sys.stdout = buffer
    try:
        cli.emit(frame, cli.OutputFormat.csv)
    finally:
        sys.stdout = stdout
    assert buffer.getvalue().splitlines() == ["denominator,rate", "2088101,4.78808", ",12345700"]
