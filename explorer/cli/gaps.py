"""`explorer gaps` and `explorer activity`: where the data is weakest, and clinician activity
(issue 17, points 4 and 5), as CSV or JSON, disclosure-controlled for the role and audited."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from explorer.cli._common import OutputFormat, Region, emit, friendly
from explorer.cli.reports import DEFAULT_CLI_ROLE, CliRole, RoleOption, _audit_cli_export

_DEFAULT_ROLE = CliRole(DEFAULT_CLI_ROLE)
GapLevel = StrEnum("GapLevel", [(n, n) for n in ("region", "ics", "place", "pcn", "lsoa")])


class By(StrEnum):
    area = "area"
    imd_quintile = "imd_quintile"


@friendly
def gaps(
    level: Annotated[GapLevel, typer.Option(help="Areas to list (with --by area).")] = GapLevel.ics,
    area: Annotated[str | None, typer.Option("--area", help="Only areas inside this one; with --by "
                                             "imd_quintile, the area to split (default: the region).",
                                             show_default=False)] = None,
    by: Annotated[By, typer.Option("--by", help="area (one row per area) or imd_quintile (one row per "
                                   "IMD 2025 quintile of --area, 1 = most deprived).")] = By.area,
    region: Annotated[Region, typer.Option(help="Region whose data to read.")] = Region.london,
    fmt: Annotated[OutputFormat, typer.Option("--format", help="Output format.")] = OutputFormat.csv,
    role: RoleOption = _DEFAULT_ROLE,
) -> None:
    """Registered (GP lists, July 2023) against resident (Census 2021) population, the share of people
    whose ethnic group is not recorded and the share of live plans missing a key item."""
    from explorer.services.gaps import gaps_export

    frame, header = gaps_export(level.value, area, by.value if by is By.imd_quintile else None, role=role.value,
                                region=region.value)
    _audit_cli_export("cli_gaps", role.value, level=level.value, area=area or "region", region=region.value,
                      by=by.value)
    if fmt is OutputFormat.csv:
        emit(frame.assign(data=header["data"]), fmt)
    else:
        emit(frame, fmt, header)


def register(app: typer.Typer) -> None:
    app.command("gaps")(gaps)
