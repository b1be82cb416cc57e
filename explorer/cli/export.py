"""`explorer export`: board-paper exports made on the command line, exactly as the app makes them.

`explorer export figure` writes one figure as PNG, SVG or PDF (explorer.export): checked for the
role like the app's views, disclosure-controlled for publication (the analyst's too), audited,
written atomically (a failed export leaves no file).
"""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from explorer.cli._common import Region, cli_user, friendly
from explorer.cli.reports import DEFAULT_CLI_ROLE, CliRole, FilterOption
from explorer.config import load_settings
from explorer.errors import ExplorerError
from explorer.vocab import LEVELS

export_app = typer.Typer(help="Export figures for board papers (PNG, SVG, PDF), made offline on this machine.",
                         no_args_is_help=True)

FigureKind = StrEnum("FigureKind", [(k, k) for k in ("map", "gradient", "cascade", "trend", "inequalities",
                                                     "funnel", "outreach", "population", "calibration",
                                                     "spine", "compare")])
ExportLevel = StrEnum("ExportLevel", [(name, name) for name in ("region", *LEVELS)])


CapacityOption = Annotated[int | None, typer.Option(
    "--capacity", help="Outreach: planning conversations the team can hold (default 10,000), as on the outreach "
                       "page; the areas they reach are marked.", show_default=False)]
RankByOption = Annotated[str | None, typer.Option(
    "--rank-by", help="Outreach: rank areas by high_risk_without_plan (default), gap or "
                      "expected_admissions_without_plan.", show_default=False)]


class FigureFormat(StrEnum):
    png = "png"
    svg = "svg"
    pdf = "pdf"


def check_out(path: Path) -> Path:
    """The output file's directory must exist and be writable: say so before any work is done."""
    parent = path.expanduser().resolve().parent
    if path.is_dir():
        raise ExplorerError(f"--out {path} is a directory: give a file name")
    if not parent.is_dir():
        raise ExplorerError(f"cannot write {path}: the directory {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise ExplorerError(f"cannot write {path}: the directory {parent} is not writable")
    return path


@export_app.command("figure")
@friendly
def figure(
    kind: Annotated[FigureKind, typer.Option("--figure", help="Which figure.")],
    level: Annotated[ExportLevel, typer.Option(help="Map, funnel, outreach: the level of the areas drawn. Other "
                                                    "figures: the level of --area (region without --area).")],
    fmt: Annotated[FigureFormat, typer.Option("--format", help="File format (PNG at 2x, print quality).")],
    out: Annotated[Path, typer.Option("--out", help="File to write (replaced atomically).")],
    area: Annotated[str | None, typer.Option(help="Area code: the area the map/funnel/outreach is within, or the "
                                                  "area the chart is about (default: the whole region).",
                                             show_default=False)] = None,
    metric: Annotated[str | None, typer.Option(help="Metric of a map, gradient, trend, inequalities or funnel "
                                                    "(default: coverage; imd_score on a map without records).",
                                               show_default=False)] = None,
    by: Annotated[str | None, typer.Option(help="Groups: inequalities ethnic_group|age_band|sex|disabled|frailty|"
                                                "imd_quintile|imd_decile; gradient imd_decile|imd_quintile; "
                                                "population age_sex|ethnic_group|disability|imd_decile.",
                                           show_default=False)] = None,
    filter_: FilterOption = None,
    role: Annotated[CliRole, typer.Option("--role", help="Whose export: the role's levels and disclosure rules "
                                                         "(exports are always disclosure-controlled).")]
    = CliRole(DEFAULT_CLI_ROLE),
    capacity: CapacityOption = None,
    rank_by: RankByOption = None,
    region: Annotated[Region, typer.Option(help="Region whose data to read.")] = Region.london,
) -> None:
    """Write one figure (title, subtitle, legend, sources footnote, SYNTHETIC mark on demo data) as PNG, SVG
    or PDF, disclosure-controlled for --role and recorded in the audit log."""
    from explorer.export import ExportRequest, export_figure
    from explorer.export.items import resolve
    from explorer.services.app_data import AppData

    check_out(out)
    request = ExportRequest(kind.value, level.value, area, metric, list(filter_ or ()), role.value, by,
                            capacity=capacity, rank_by=rank_by)
    data = AppData.load(load_settings(), region.value)
    resolve(data, request)  # refuse a bad request before the renderer starts
    item, payload = export_figure(data, request, fmt.value, user=cli_user(), out=out)
    typer.echo(f"wrote {out} ({len(payload):,} bytes): {item.title}")


def register(app: typer.Typer) -> None:
    app.add_typer(export_app, name="export")
