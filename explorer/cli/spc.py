"""`explorer spc`: a metric's monthly XmR chart for one area (Making Data Count), as CSV or JSON."""

from __future__ import annotations

import re
from typing import Annotated

import typer

from explorer.cli._common import Level, OutputFormat, Region, emit, friendly
from explorer.cli.reports import (
    DEFAULT_CLI_ROLE,
    CliRole,
    FilterOption,
    RoleOption,
    _audit_cli_export,
)
from explorer.errors import ExplorerError

_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_DEFAULT_ROLE = CliRole(DEFAULT_CLI_ROLE)


@friendly
def spc(
    area: Annotated[str, typer.Option("--area", help="Area code (an ICS, place, PCN or LSOA code at --level).")],
    metric: Annotated[str, typer.Option("--metric", help="Care-plan metric, e.g. reviewed_in_period.")],
    level: Annotated[Level, typer.Option(help="The area's level.")] = Level.ics,
    filter_: FilterOption = None,
    target: Annotated[float | None, typer.Option("--target", help="Target value, in the metric's unit: adds the "
                                                 "assurance icon.", show_default=False)] = None,
    baseline: Annotated[int | None, typer.Option("--baseline", help="Compute each segment's limits from its "
                                                 "first N months.", show_default=False)] = None,
    rebase: Annotated[list[str] | None, typer.Option("--rebase", help="YYYY-MM (repeatable): new limits from "
                                                     "this month on.", show_default=False)] = None,
    region: Annotated[Region, typer.Option(help="Region whose data to read.")] = Region.london,
    fmt: Annotated[OutputFormat, typer.Option("--format", help="Output format.")] = OutputFormat.csv,
    role: RoleOption = _DEFAULT_ROLE,
) -> None:
    """One row per month: month, value, mean, lower_limit, upper_limit, special_cause (the rules fired,
    empty for none) and point_type, computed from the values --role may see. CSV repeats the icons
    (variation, assurance) and the data label on every row; JSON gives them once, beside "rows"."""
    from explorer.services.spc import spc_export

    bad = [m for m in rebase or [] if not _MONTH.match(m)]
    if bad:
        raise ExplorerError(f"--rebase '{bad[0]}' is not a month: give YYYY-MM, e.g. 2025-04")
    rows, header = spc_export(level.value, area, metric, filter_, target=target, baseline=baseline,
                              rebase=rebase or [], role=role.value, region=region.value)
    _audit_cli_export("cli_spc", role.value, level=level.value, area=area, region=region.value, metric=metric,
                      filters=filter_ or [], target=target, baseline=baseline, rebase=rebase or [])
    if fmt is OutputFormat.csv:
        emit(rows.assign(variation=header["variation"] or "", assurance=header["assurance"] or "",
                         data=header["data"]), fmt)
    else:
        emit(rows, fmt, header)


def register(app: typer.Typer) -> None:
    app.command("spc")(spc)
