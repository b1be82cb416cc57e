"""What every `explorer` command group shares: choices, options, friendly errors and table output."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, ParamSpec, TypeVar

import pandas as pd
import typer

from explorer.domain.access import AccessDenied
from explorer.errors import ExplorerError
from explorer.vocab import LEVELS, REGIONS

P = ParamSpec("P")
R = TypeVar("R")


Region = StrEnum("Region", [(name, name) for name in REGIONS])  # choices from the vocabulary
Level = StrEnum("Level", [(name, name) for name in LEVELS])


class OutputFormat(StrEnum):
    csv = "csv"
    json = "json"


MirrorOption = Annotated[
    Path | None,
    typer.Option("--mirror", help="Directory holding copies of the official files (or set EXPLORER_MIRROR).",
                 show_default=False),
]
CellsOption = Annotated[
    bool,
    typer.Option("--cells/--no-cells", help="Then store the region's cell tables, where the app and the CLI start "
                 "from (the default); --no-cells leaves that to a later `explorer aggregate`, e.g. between imports."),
]


def store_cells(region: str, enabled: bool, *, score: bool = True) -> None:
    """The shared step after records change (explorer.services.cells.store_region_cells), printed."""
    if not enabled:
        typer.echo("stored cell tables not made (--no-cells): run `explorer aggregate --region "
                   f"{region}` before serving")
        return
    from explorer.config import load_settings
    from explorer.services.cells import store_region_cells

    typer.echo(store_region_cells(load_settings(), region, score=score)["message"])


def friendly(command: Callable[P, R]) -> Callable[P, R]:
    """Print an ExplorerError's message (what is wrong, how to fix it) instead of a traceback."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except ExplorerError as exc:
            typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
            raise typer.Exit(2) from None
        except AccessDenied as exc:  # the role may not see this: say so, print no data
            typer.secho(f"refused: {exc}", err=True, fg=typer.colors.RED)
            raise typer.Exit(3) from None

    return wrapper


def cli_user() -> str:
    """Who runs the command, for the audit log ("cli:<login>"; "cli:unknown" without a login name)."""
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # noqa: BLE001 - no login name (e.g. a container): still record the export
        return "cli:unknown"


def tidy_numbers(frame: pd.DataFrame) -> pd.DataFrame:
    """explorer.export.tables.tidy_numbers, imported when a table is printed (the export layer
    brings plotly and the app's data modules: a second at every command's start otherwise)."""
    from explorer.export.tables import tidy_numbers as tidy

    return tidy(frame)


def emit(frame: pd.DataFrame, fmt: OutputFormat, extra: dict[str, object] | None = None) -> None:
    if fmt is OutputFormat.csv:
        from explorer.export.safe_cells import safe_frame
        from explorer.export.tables import csv_number as _csv_number

        # names in the rows could be spreadsheet formulas (=HYPERLINK...): neutralise text, keep numbers
        safe_frame(tidy_numbers(frame)).to_csv(sys.stdout, index=False, float_format=_csv_number)
    else:
        payload: dict[str, object] = {"rows": json.loads(frame.to_json(orient="records", double_precision=6))}
        payload.update(extra or {})
        typer.echo(json.dumps(payload, indent=2))
