"""The `explorer` command: parses arguments and calls the layers below; no logic of its own."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer

from explorer.config import load_settings
from explorer.errors import DownloadError, ExplorerError

app = typer.Typer(help="Population Health Explorer: care-plan coverage, deprivation and risk by area.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
data_app = typer.Typer(help="Fetch public data and build the processed bundle.", no_args_is_help=True)
app.add_typer(data_app, name="data")
users_app = typer.Typer(help="Manage who may sign in to the app, and their roles.", no_args_is_help=True)
app.add_typer(users_app, name="users")


class Region(StrEnum):
    london = "london"
    england = "england"


class Level(StrEnum):
    ics = "ics"
    place = "place"
    pcn = "pcn"
    lsoa = "lsoa"


class OutputFormat(StrEnum):
    csv = "csv"
    json = "json"


MirrorOption = Annotated[
    Path | None,
    typer.Option("--mirror", help="Directory holding copies of the official files (or set EXPLORER_MIRROR).",
                 show_default=False),
]


def friendly(command: Callable[..., Any]) -> Callable[..., Any]:
    """Print an ExplorerError's message (what is wrong, how to fix it) instead of a traceback."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except ExplorerError as exc:
            typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
            raise typer.Exit(2) from None

    return wrapper


def emit(frame: pd.DataFrame, fmt: OutputFormat, extra: dict | None = None) -> None:
    if fmt is OutputFormat.csv:
        frame.to_csv(sys.stdout, index=False, float_format="%.6g")
    else:
        payload: dict[str, Any] = {"rows": json.loads(frame.to_json(orient="records", double_precision=6))}
        payload.update(extra or {})
        typer.echo(json.dumps(payload, indent=2))


@data_app.command("sources")
def data_sources() -> None:
    """List the official datasets the tool uses, with publisher, licence and download location."""
    from explorer.sources.registry import SOURCES

    for source in SOURCES.values():
        tag = "  [synthetic in the demo: no open copy]" if source.synthetic_fallback else ""
        typer.echo(f"{source.name}{tag}\n  {source.title}\n  {source.publisher}; {source.licence}\n"
                   f"  {source.download_url}\n  mirror file: {source.mirror_name}")


@data_app.command("fetch")
@friendly
def data_fetch(
    mirror: MirrorOption = None,
    only: Annotated[list[str] | None, typer.Option(help="Fetch only these sources (repeatable).")] = None,
    force: Annotated[bool, typer.Option(help="Fetch again even if a verified copy is cached.")] = False,
) -> None:
    """Download the public datasets into the user cache (resumable, checksummed), or copy them from a mirror."""
    from explorer.sources.fetch import HOW_TO_GET_DATA, fetch_source
    from explorer.sources.registry import PUBLIC_SOURCES, SOURCES

    settings = load_settings(mirror)
    names = only or list(PUBLIC_SOURCES)
    unknown = sorted(set(names) - set(SOURCES))
    if unknown:
        raise ExplorerError(f"unknown source(s) {', '.join(unknown)}; see `explorer data sources`")
    failures = []
    for name in names:
        try:
            got = fetch_source(settings, SOURCES[name], force=force)
            typer.echo(f"ok  {name:24s} {got.size / 1e6:8.1f} MB  sha256 {got.sha256[:12]}  from {got.location}")
        except DownloadError as exc:
            failures.append(f"{name}: {exc}")
    if failures:
        raise DownloadError("could not fetch:\n  " + "\n  ".join(failures) + "\n" + HOW_TO_GET_DATA)
    typer.echo(f"cached in {settings.cache_dir / 'sources'}")


@data_app.command("build")
@friendly
def data_build(
    region: Annotated[Region, typer.Option(help="Which region to build.")] = Region.london,
    mirror: MirrorOption = None,
    seed: Annotated[int, typer.Option(help="Seed for the synthetic GP practices.")] = 20261122,
) -> None:
    """Build the processed geography bundle (LSOA table, age-sex population, boundaries per level)."""
    from explorer.bundle.build import build_bundle

    settings = load_settings(mirror)
    manifest = build_bundle(settings, region.value, seed=seed)
    counts = manifest["counts"]
    typer.echo(
        f"built {region.value}: {counts['lsoa']:,} LSOAs, {counts['place']} places, {counts['ics']} ICSs, "
        f"{counts['pcn']} PCNs, {counts['practices']:,} practices, population {counts['population']:,} "
        f"in {manifest['build_seconds']} s\n  GP registrations: {manifest['gp_registrations']}\n"
        f"  -> {settings.bundle_dir(region.value)}"
    )


@data_app.command("synth")
@friendly
def data_synth(
    region: Annotated[Region, typer.Option(help="Region whose bundle to generate records for.")] = Region.london,
    seed: Annotated[int, typer.Option(help="Seed for the synthetic people, plans and users.")] = 20261122,
) -> None:
    """Generate the seeded synthetic person-level records (people, plans, reviews, views, users, logins)."""
    from explorer.bundle.store import load_bundle
    from explorer.records.store import records_dir
    from explorer.synth.careplans import generate_records

    settings = load_settings()
    manifest = generate_records(settings, load_bundle(settings, region.value), seed=seed)
    rows, cal = manifest["rows"], manifest["calibration"]
    typer.echo(
        f"generated {region.value} (seed {seed}) in {manifest['generation_seconds']} s: "
        + ", ".join(f"{n:,} {table}" for table, n in rows.items())
        + f"\n  active plans {cal['active_plans']:,} (target {cal['active_plans_target']:,.0f}), emergency "
        f"admission rate {cal['emergency_admission_rate']:.1%}\n  -> {records_dir(settings, region.value)}"
    )


ExtractFile = Annotated[Path, typer.Argument(help="The extract: CSV (UTF-8 or Windows-1252) or Excel .xlsx, "
                                             "in the layout of docs/import-layouts.md.", show_default=False)]
ImportRegion = Annotated[Region, typer.Option(help="Region whose records to replace.")]
ExtractDate = Annotated[
    datetime | None,
    typer.Option(formats=["%Y-%m-%d"], metavar="YYYY-MM-DD", show_default=False,
                 help="Date the extract was taken; no date may be after it (default: today)."),
]


def _import_extract(table: str, file: Path, region: Region, mirror: Path | None, extract_date: datetime | None
                    ) -> None:
    from explorer.records.importer import import_extract

    result = import_extract(load_settings(mirror), region.value, table, file,
                            extract_date=extract_date.date() if extract_date else None)
    typer.echo(f"imported {result.rows:,} rows of {table} from {file.name} as real data\n  -> {result.path}")
    for notice in result.notices:
        typer.echo(f"  note: {notice}")


@data_app.command("import-people")
@friendly
def data_import_people(file: ExtractFile, region: ImportRegion = Region.london, mirror: MirrorOption = None,
                       extract_date: ExtractDate = None) -> None:
    """Import a people (registration and risk-factor) extract; checked row by row, stored all or nothing."""
    _import_extract("people", file, region, mirror, extract_date)


@data_app.command("import-plans")
@friendly
def data_import_plans(file: ExtractFile, region: ImportRegion = Region.london, mirror: MirrorOption = None,
                      extract_date: ExtractDate = None) -> None:
    """Import a care-plan extract: every row is checked; all rows are stored, or none."""
    _import_extract("plans", file, region, mirror, extract_date)


@data_app.command("import-reviews")
@friendly
def data_import_reviews(file: ExtractFile, region: ImportRegion = Region.london, mirror: MirrorOption = None,
                        extract_date: ExtractDate = None) -> None:
    """Import a plan-review extract: every row is checked; all rows are stored, or none."""
    _import_extract("plan_reviews", file, region, mirror, extract_date)


@data_app.command("import-views")
@friendly
def data_import_views(file: ExtractFile, region: ImportRegion = Region.london, mirror: MirrorOption = None,
                      extract_date: ExtractDate = None) -> None:
    """Import a plan-view extract: every row is checked; all rows are stored, or none."""
    _import_extract("plan_views", file, region, mirror, extract_date)


@data_app.command("import-users")
@friendly
def data_import_users(file: ExtractFile, region: ImportRegion = Region.london, mirror: MirrorOption = None,
                      extract_date: ExtractDate = None) -> None:
    """Import a user extract: every row is checked; all rows are stored, or none."""
    _import_extract("users", file, region, mirror, extract_date)


@data_app.command("import-logins")
@friendly
def data_import_logins(file: ExtractFile, region: ImportRegion = Region.london, mirror: MirrorOption = None,
                       extract_date: ExtractDate = None) -> None:
    """Import a monthly-logins extract: every row is checked; all rows are stored, or none."""
    _import_extract("user_logins", file, region, mirror, extract_date)


@data_app.command("import-admissions")
@friendly
def data_import_admissions(file: ExtractFile, region: ImportRegion = Region.london, mirror: MirrorOption = None,
                           extract_date: ExtractDate = None) -> None:
    """Import an emergency-admissions extract: every row is checked; all rows are stored, or none."""
    _import_extract("admissions", file, region, mirror, extract_date)


@app.command("summary")
@friendly
def summary(
    level: Annotated[Level, typer.Option(help="Area level.")] = Level.ics,
    region: Annotated[Region, typer.Option(help="Region whose bundle to read.")] = Region.london,
    fmt: Annotated[OutputFormat, typer.Option("--format", help="Output format.")] = OutputFormat.csv,
) -> None:
    """One row per area: population, LSOA count, IMD 2025 score and deprivation shares."""
    from explorer.bundle.store import load_bundle
    from explorer.domain.geography import area_summary

    bundle = load_bundle(load_settings(), region.value)
    emit(area_summary(bundle.lsoas, bundle.areas, level.value), fmt)


@users_app.command("add")
@friendly
def users_add(
    name: Annotated[str, typer.Argument(help="User name.")],
    role: Annotated[str, typer.Option(help="analyst, commissioner, strategist or social_care.")],
    password_stdin: Annotated[bool, typer.Option(help="Read the password from standard input.")] = False,
) -> None:
    """Add a user (or change an existing user's role and password)."""
    from explorer.auth.users import add_user

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    user = add_user(load_settings(), name, role, password)
    typer.echo(f"user {user.name} has role {user.role.value}")


@users_app.command("remove")
@friendly
def users_remove(name: Annotated[str, typer.Argument(help="User name.")]) -> None:
    """Remove a user."""
    from explorer.auth.users import remove_user

    remove_user(load_settings(), name)
    typer.echo(f"removed {name}")


@users_app.command("list")
@friendly
def users_list() -> None:
    """List users and their roles (never passwords)."""
    from explorer.auth.users import list_users, users_file

    settings = load_settings()
    for user in list_users(settings):
        typer.echo(f"{user.name}\t{user.role.value}")
    typer.echo(f"({users_file(settings)})", err=True)


if __name__ == "__main__":
    app()
