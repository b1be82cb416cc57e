"""`explorer summary` and `explorer inequality`: disclosure-controlled tables printed as CSV or JSON."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated

import typer

from explorer.cli._common import Level, OutputFormat, Region, cli_user, emit, friendly
from explorer.config import load_settings
from explorer.services.reports import DEFAULT_ROLE, inequality_frames, summary_frame

MetricOption = Annotated[
    list[str] | None,
    typer.Option("--metric", help="Care-plan metric (repeatable): plans, coverage, coverage_dsr, completeness, "
                 "reviewed_in_period, urgent_care_views, active_users, active_users_10plus, adjusted_coverage, "
                 "coverage_registered (per 1,000 registered patients; no --filter); "
                 "with a trained risk model also high_risk, high_risk_without_plan, high_risk_plan_coverage, "
                 "expected_admissions_without_plan.", show_default=False),
]
FilterOption = Annotated[
    list[str] | None,
    typer.Option("--filter", help="KEY=VALUE[,VALUE] (repeatable), keys age_band, sex, ethnic_group, imd_quintile, "
                 "imd_decile, frailty, disabled, risk (e.g. frailty=moderate,severe or risk=top_percent:10).",
                 show_default=False),
]
AsOfOption = Annotated[str | None, typer.Option("--as-of", help="Snapshot month YYYY-MM (default: the extract).",
                                                show_default=False)]


class CliRole(StrEnum):
    analyst = "analyst"
    commissioner = "commissioner"
    strategist = "strategist"
    social_care = "social_care"


DEFAULT_CLI_ROLE = DEFAULT_ROLE
RoleOption = Annotated[CliRole, typer.Option(
    "--role", help="Whose view to print, with exactly the app's rules for that role: commissioner (the default: "
    "counts of 1-7 hidden, others rounded to 5, every level), strategist and social_care (ICS, place and PCN only; "
    "social_care without clinical plan content), analyst (unrounded: inside the secure environment only).")]


class ByGroup(StrEnum):
    imd_decile = "imd_decile"
    imd_quintile = "imd_quintile"
    ethnic_group = "ethnic_group"
    age_band = "age_band"
    sex = "sex"
    disabled = "disabled"
    frailty = "frailty"


def _audit_cli_export(what: str, role: str, **details: object) -> None:
    """Record the printed table in the audit log, like a download from the app (who, what, when)."""
    from explorer.auth.users import audit

    audit(load_settings(), "export", cli_user(), role, what=what, **details)


@friendly
def summary(
    level: Annotated[Level, typer.Option(help="Area level.")] = Level.ics,
    region: Annotated[Region, typer.Option(help="Region whose bundle to read.")] = Region.london,
    fmt: Annotated[OutputFormat, typer.Option("--format", help="Output format.")] = OutputFormat.csv,
    metric: MetricOption = None,
    filter_: FilterOption = None,
    as_of: AsOfOption = None,
    role: RoleOption = CliRole(DEFAULT_CLI_ROLE),
) -> None:
    """One row per area: population, LSOA count, IMD 2025 score and deprivation shares, then each --metric
    with its numerator, denominator and 95% CI, disclosure-controlled for --role (suppressed cells are
    empty, with <column>_suppressed = true)."""
    frame = summary_frame(level.value, region.value, metric, filter_, as_of, role.value)
    _audit_cli_export("cli_summary", role.value, level=level.value, region=region.value, metrics=metric or [],
                      filters=filter_ or [])
    emit(frame, fmt)


@friendly
def inequality(
    metric: Annotated[str, typer.Option("--metric", help="Care-plan metric, e.g. coverage.")],
    level: Annotated[Level, typer.Option(help="Area level.")] = Level.ics,
    by: Annotated[ByGroup, typer.Option(help="Groups to compare (IMD: 1 = most deprived).")] = ByGroup.imd_quintile,
    region: Annotated[Region, typer.Option(help="Region whose data to read.")] = Region.london,
    filter_: FilterOption = None,
    as_of: AsOfOption = None,
    fmt: Annotated[OutputFormat, typer.Option("--format", help="Output format.")] = OutputFormat.csv,
    role: RoleOption = CliRole(DEFAULT_CLI_ROLE),
) -> None:
    """The metric per area and group, with each area's slope and relative index of inequality (SII/RII,
    95% CIs; deprivation groupings only, NaN otherwise).

    CSV: one table, a row per area and group, with the area's sii, sii_lower, sii_upper, rii, rii_lower
    and rii_upper repeated on each of its rows. JSON: {"rows": [...], "sii_rii": [one per area]}."""
    rows, sii_rii = inequality_frames(level.value, metric, by.value, region.value, filter_, as_of, role.value)
    _audit_cli_export("cli_inequality", role.value, level=level.value, region=region.value, metric=metric,
                      by=by.value, filters=filter_ or [])
    if fmt is OutputFormat.csv:
        emit(rows.merge(sii_rii, on="area_code", how="left"), fmt)
    else:
        emit(rows, fmt, {"sii_rii": json.loads(sii_rii.to_json(orient="records", double_precision=6))})


def register(app: typer.Typer) -> None:
    app.command("summary")(summary)
    app.command("inequality")(inequality)
