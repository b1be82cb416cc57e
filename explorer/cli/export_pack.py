"""`explorer export table` and `explorer export pack`: the numbers behind a figure as CSV/xlsx, and
board packs (PPTX/PDF) for one area or every area of a level, with a progress bar.

Same checks, disclosure control, atomic writes and audit as `explorer export figure`
(explorer.export.files); a refused request prints a message and leaves no file.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from explorer.cli._common import Region, cli_user, friendly
from explorer.cli.export import (
    CapacityOption,
    ExportLevel,
    FigureKind,
    RankByOption,
    check_out,
)
from explorer.cli.reports import DEFAULT_CLI_ROLE, CliRole, FilterOption
from explorer.config import load_settings
from explorer.errors import ExplorerError


class TableFormat(StrEnum):
    csv = "csv"
    xlsx = "xlsx"


class PackFormat(StrEnum):
    pptx = "pptx"
    pdf = "pdf"


PackLevel = StrEnum("PackLevel", [(name, name) for name in ("ics", "place", "pcn")])
RoleOption = Annotated[CliRole, typer.Option("--role", help="Whose export: the role's levels and disclosure rules "
                                                            "(exports are always disclosure-controlled).")]


@friendly
def table(
    kind: Annotated[FigureKind, typer.Option("--figure", help="Whose numbers: the figure they are behind.")],
    level: Annotated[ExportLevel, typer.Option(help="As for `export figure`.")],
    fmt: Annotated[TableFormat, typer.Option("--format", help="csv (notes as leading # lines) or xlsx "
                                                              "(Data and Notes sheets).")],
    out: Annotated[Path, typer.Option("--out", help="File to write (replaced atomically).")],
    area: Annotated[str | None, typer.Option(help="Area code, as for `export figure`.", show_default=False)] = None,
    metric: Annotated[str | None, typer.Option(help="Metric, as for `export figure`.", show_default=False)] = None,
    by: Annotated[str | None, typer.Option(help="Groups, as for `export figure`.", show_default=False)] = None,
    filter_: FilterOption = None,
    role: RoleOption = CliRole(DEFAULT_CLI_ROLE),
    capacity: CapacityOption = None,
    rank_by: RankByOption = None,
    region: Annotated[Region, typer.Option(help="Region whose data to read.")] = Region.london,
) -> None:
    """Write the numbers behind one figure (disclosure-controlled for --role, CIs in their own columns,
    numbers as numbers, text safe from spreadsheet formulas) with notes: definitions, sources, rules,
    role, date and the SYNTHETIC mark on demo data."""
    from explorer.export import ExportRequest
    from explorer.export.files import export_table
    from explorer.services.app_data import AppData

    check_out(out)
    request = ExportRequest(kind.value, level.value, area, metric, list(filter_ or ()), role.value, by,
                            capacity=capacity, rank_by=rank_by)
    data = AppData.load(load_settings(), region.value)
    frame, payload = export_table(data, request, fmt.value, user=cli_user(), out=out)
    typer.echo(f"wrote {out} ({len(frame)} rows, {len(payload):,} bytes)")


@friendly
def pack(
    level: Annotated[PackLevel, typer.Option(help="Level of the area(s): ics, place or pcn.")],
    fmt: Annotated[PackFormat, typer.Option("--format", help="pptx (editable, 16:9) or pdf (same content).")],
    out: Annotated[Path, typer.Option("--out", help="With --area: the file to write. With --all: the directory "
                                                    "(board-pack-<code>.<format> per area).")],
    area: Annotated[str | None, typer.Option(help="The area's code.", show_default=False)] = None,
    all_: Annotated[bool, typer.Option("--all", help="A pack for every area of --level.")] = False,
    role: RoleOption = CliRole(DEFAULT_CLI_ROLE),
    region: Annotated[Region, typer.Option(help="Region whose data to read.")] = Region.london,
) -> None:
    """Make a board pack: title, key numbers against the parent and region with 95% CIs, the map, the
    deprivation gradient with SII/RII, the care-plan cascade, the trend, inequalities by ethnic group, age
    band and sex, the outreach ranking, methods and sources, with a narrative written from the numbers."""
    from tqdm import tqdm

    from explorer.export.files import export_pack, export_packs, pack_areas
    from explorer.export.pack import check_pack
    from explorer.services.app_data import AppData

    if all_ == (area is not None):
        raise ExplorerError("give either --area CODE (one pack) or --all (every area of the level)")
    if all_:
        if out.exists() and not out.is_dir():
            raise ExplorerError(f"--out {out} is a file: with --all give a directory")
        out.mkdir(parents=True, exist_ok=True)
        check_out(out / "probe")
    else:
        check_out(out)
    data = AppData.load(load_settings(), region.value)
    user = cli_user()
    if not all_:
        check_pack(data, level.value, area, role.value)  # refuse before the slow part
        payload = export_pack(data, level.value, area, role.value, fmt.value, user=user, out=out)
        typer.echo(f"wrote {out} ({len(payload):,} bytes)")
        return
    codes = pack_areas(data, level.value, role.value)
    written = list(tqdm(export_packs(data, level.value, codes, role.value, fmt.value, out, user=user),
                        total=len(codes), unit="pack", desc=f"{level.value} packs"))
    typer.echo(f"wrote {len(written)} packs to {out}")


def register(export_app: typer.Typer) -> None:
    export_app.command("table")(table)
    export_app.command("pack")(pack)
