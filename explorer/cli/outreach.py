"""`explorer outreach`: the outreach what-if for an area (coverage and SII before -> after, for the
area and its parent, and the equity audit), as CSV or JSON."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from explorer.cli._common import OutputFormat, Region, emit, friendly
from explorer.cli.reports import (
    DEFAULT_CLI_ROLE,
    CliRole,
    RoleOption,
    _audit_cli_export,
)

_DEFAULT_ROLE = CliRole(DEFAULT_CLI_ROLE)


class UnitLevel(StrEnum):
    place = "place"
    pcn = "pcn"


class Ranking(StrEnum):
    without_plan = "without_plan"
    deprivation_gap = "deprivation_gap"


@friendly
def outreach(
    capacity: Annotated[int, typer.Option("--capacity", min=0, help="Planning conversations the team can hold.")],
    level: Annotated[UnitLevel, typer.Option(help="The units conversations go to (each split by IMD quintile).")
                     ] = UnitLevel.pcn,
    area: Annotated[str | None, typer.Option("--area", help="An ICS or place code (default: the whole region).",
                                             show_default=False)] = None,
    rank: Annotated[Ranking, typer.Option("--rank", help="without_plan (most people without a plan first) or "
                                          "deprivation_gap (closes the deprivation gap fastest).")
                    ] = Ranking.without_plan,
    region: Annotated[Region, typer.Option(help="Region whose data to read.")] = Region.london,
    fmt: Annotated[OutputFormat, typer.Option("--format", help="Output format.")] = OutputFormat.csv,
    role: RoleOption = _DEFAULT_ROLE,
) -> None:
    """Rows of table "summary" (area and parent: coverage among high-risk people and SII between IMD
    quintiles, before and after) then "equity_audit" (who is reached against who is at high risk, by
    IMD quintile, ethnic group, age band and sex); people reached rounded to the nearest 10."""
    from explorer.services.whatif import whatif_export

    frame, header = whatif_export(level.value, area, capacity, rank.value, role=role.value, region=region.value)
    _audit_cli_export("cli_outreach", role.value, level=level.value, area=area or "region", region=region.value,
                      capacity=capacity, ranking=rank.value)
    if fmt is OutputFormat.csv:
        emit(frame.assign(data=header["data"]), fmt)
    else:
        emit(frame, fmt, header)


def register(app: typer.Typer) -> None:
    app.command("outreach")(outreach)
