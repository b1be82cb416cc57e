"""`explorer gaps` and `explorer activity`: where the data is weakest, and clinician activity
(issue 17, points 4 and 5), as CSV or JSON, disclosure-controlled for the role and audited."""

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
from explorer.services.activity import AREA_RATES
from explorer.vocab import LEVELS, ORGANISATION_TYPES, REGION_LEVEL

_DEFAULT_ROLE = CliRole(DEFAULT_CLI_ROLE)
GapLevel = StrEnum("GapLevel", [(n, n) for n in (REGION_LEVEL, *LEVELS)])


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




class ActivityBy(StrEnum):
    area = "area"
    organisation_type = "organisation_type"


Rate = StrEnum("Rate", [(n, n) for n in AREA_RATES])
OrgType = StrEnum("OrgType", [(n, n) for n in ORGANISATION_TYPES])


@friendly
def activity(
    level: Annotated[GapLevel, typer.Option(help="Areas to list.")] = GapLevel.ics,
    area: Annotated[str | None, typer.Option("--area", help="Only areas inside this one; with --spc, the area "
                                             "charted (default: the region).", show_default=False)] = None,
    month: Annotated[str | None, typer.Option("--month", help="YYYY-MM (default: the latest month).",
                                              show_default=False)] = None,
    organisation_type: Annotated[OrgType | None, typer.Option("--organisation-type", help="Only users of this "
                                                              "kind of organisation.", show_default=False)] = None,
    by: Annotated[ActivityBy, typer.Option("--by", help="area, or organisation_type (a row per area and "
                                           "organisation type).")] = ActivityBy.area,
    spc: Annotated[Rate | None, typer.Option("--spc", help="Print this measure's monthly XmR chart for --area "
                                             "instead.", show_default=False)] = None,
    target: Annotated[float | None, typer.Option("--target", help="With --spc: the target (assurance icon).",
                                                 show_default=False)] = None,
    region: Annotated[Region, typer.Option(help="Region whose data to read.")] = Region.london,
    fmt: Annotated[OutputFormat, typer.Option("--format", help="Output format.")] = OutputFormat.csv,
    role: RoleOption = _DEFAULT_ROLE,
) -> None:
    """Clinician users and logins by organisation type and area, plans created and updated per active
    clinician; or, with --spc, one measure's monthly SPC rows (month, value, mean, limits, rule)."""
    from explorer.services.activity import activity_export

    frame, header = activity_export(level.value, area, month, organisation_type.value if organisation_type else None,
                                    by.value, rate=spc.value if spc else None, target=target, role=role.value,
                                    region=region.value)
    _audit_cli_export("cli_activity", role.value, level=level.value, area=area or "region", region=region.value,
                      by=by.value, spc=spc.value if spc else "", month=month or "")
    if fmt is OutputFormat.csv:
        emit(frame.assign(data=header["data"]), fmt)
    else:
        emit(frame, fmt, header)


def register(app: typer.Typer) -> None:
    app.command("gaps")(gaps)
    app.command("activity")(activity)
