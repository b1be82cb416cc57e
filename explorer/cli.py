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

import numpy as np
import pandas as pd
import typer

from explorer.config import load_settings
from explorer.domain.access import AccessDenied
from explorer.errors import DownloadError, ExplorerError

app = typer.Typer(help="Population Health Explorer: care-plan coverage, deprivation and risk by area.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
data_app = typer.Typer(help="Fetch public data and build the processed bundle.", no_args_is_help=True)
app.add_typer(data_app, name="data")
users_app = typer.Typer(help="Manage who may sign in to the app, and their roles.", no_args_is_help=True)
app.add_typer(users_app, name="users")
model_app = typer.Typer(help="Train and report the emergency-admission risk model.", no_args_is_help=True)
app.add_typer(model_app, name="model")


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
        except AccessDenied as exc:  # the role may not see this: say so, print no data
            typer.secho(f"refused: {exc}", err=True, fg=typer.colors.RED)
            raise typer.Exit(3) from None

    return wrapper


def _csv_number(value: float) -> str:
    """Six significant figures, never in exponent form (analysts paste these into spreadsheets)."""
    return np.format_float_positional(value, precision=6, unique=False, fractional=False, trim="-")


def tidy_numbers(frame: pd.DataFrame) -> pd.DataFrame:
    """Whole-number float columns (counts, populations) become integers, so 2088100 is not 2.0881e+06."""
    out = frame.copy()
    for column in out.columns[out.dtypes.map(pd.api.types.is_float_dtype)]:
        values = out[column].dropna()
        if len(values) and np.isfinite(values).all() and (values == values.round()).all():
            out[column] = out[column].astype("Int64")
    return out


def emit(frame: pd.DataFrame, fmt: OutputFormat, extra: dict | None = None) -> None:
    if fmt is OutputFormat.csv:
        from explorer.export.safe_cells import safe_frame

        # names in the rows could be spreadsheet formulas (=HYPERLINK...): neutralise text, keep numbers
        safe_frame(tidy_numbers(frame)).to_csv(sys.stdout, index=False, float_format=_csv_number)
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
    from explorer.services.build import build_region

    settings = load_settings(mirror)
    manifest = build_region(settings, region.value, seed=seed)
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
    from explorer.records.imports import import_extract

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


MetricOption = Annotated[
    list[str] | None,
    typer.Option("--metric", help="Care-plan metric (repeatable): plans, coverage, coverage_dsr, completeness, "
                 "reviewed_in_period, urgent_care_views, active_users, active_users_10plus, adjusted_coverage; "
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


DEFAULT_CLI_ROLE = "commissioner"
RoleOption = Annotated[CliRole, typer.Option(
    "--role", help="Whose view to print, with exactly the app's rules for that role: commissioner (the default: "
    "counts of 1-7 hidden, others rounded to 5, every level), strategist and social_care (ICS, place and PCN only; "
    "social_care without clinical plan content), analyst (unrounded: inside the secure environment only).")]


def _audit_cli_export(what: str, role: str, **details: Any) -> None:
    """Record the printed table in the audit log, like a download from the app (who, what, when)."""
    import getpass

    from explorer.auth.users import audit

    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name (e.g. a container): still record the export
        user = "unknown"
    audit(load_settings(), "export", f"cli:{user}", role, what=what, **details)


def summary_frame(level: str, region: str, metrics: list[str] | None = None, filters: list[str] | None = None,
                  as_of: str | None = None, role: str = DEFAULT_CLI_ROLE) -> pd.DataFrame:
    """The table `explorer summary` prints, as `role` may see it (AccessDenied if it may not).

    Without metrics: the bundle's area summary. With metrics: the same columns, then per metric
    <metric>, <metric>_numerator, <metric>_denominator, <metric>_lower, <metric>_upper. Controlled
    columns get a <column>_suppressed flag (explorer.domain.release, the code the app uses)."""
    from explorer.bundle.store import load_bundle
    from explorer.domain import access, release
    from explorer.domain.geography import area_summary

    access.check_level(role, level)  # refuse before reading anything
    release.check_metrics(role, metrics or [])
    settings = load_settings()
    if not metrics:
        if filters or as_of:
            raise ExplorerError("--filter and --as-of apply to care-plan metrics: add --metric NAME")
        bundle = load_bundle(settings, region)
        return release.control_area_summary(area_summary(bundle.lsoas, bundle.areas, level), level, [], role)
    from explorer.domain.coverage import summary_table
    from explorer.services import load_engine
    from explorer.domain.metrics import Filters, check_metric

    for name in metrics:
        check_metric(name)
    parsed = Filters.parse(filters)
    engine = load_engine(settings, region, eager_history=False)  # one snapshot: no history
    table = summary_table(engine, level, metrics, parsed, as_of, policy=access.disclosure_policy_for(role))
    return release.control_area_summary(table, level, metrics, role)


@app.command("summary")
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


class ByGroup(StrEnum):
    imd_decile = "imd_decile"
    imd_quintile = "imd_quintile"
    ethnic_group = "ethnic_group"
    age_band = "age_band"
    sex = "sex"
    disabled = "disabled"
    frailty = "frailty"


def inequality_frames(level: str, metric: str, by: str, region: str, filters: list[str] | None = None,
                      as_of: str | None = None, role: str = DEFAULT_CLI_ROLE) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The tables `explorer inequality` prints, as `role` may see them: (rows: area_code, group, value,
    numerator, denominator, lower, upper, suppressed; sii_rii: area_code, sii, sii_lower, sii_upper, rii,
    rii_lower, rii_upper). Controlled by explorer.domain.release, the code the app uses."""
    from explorer.domain import access, release
    from explorer.services import load_engine
    from explorer.domain.metrics import Filters, check_metric

    access.check_level(role, level)  # refuse before reading anything
    release.check_metrics(role, [metric])
    check_metric(metric)
    engine = load_engine(load_settings(), region, eager_history=False)
    raw = access.policy_for(role).role.value == "analyst"
    # with control on, the SII/RII are refitted to the controlled rows: skip the engine's simulations
    rows, sii_rii = engine.inequality(level, metric, by, Filters.parse(filters), as_of=as_of,
                                      n_simulations=10_000 if raw else 10,
                                      policy=access.disclosure_policy_for(role))
    return release.control_inequality(rows, sii_rii, level, metric, by, role)


@app.command("inequality")
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


class AgeEncoding(StrEnum):
    bands = "bands"
    spline = "spline"


class ReportFormat(StrEnum):
    json = "json"
    md = "md"
    html = "html"


@model_app.command("train")
@friendly
def model_train(
    region: Annotated[Region, typer.Option(help="Region whose records to train on.")] = Region.london,
    age: Annotated[AgeEncoding, typer.Option(help="Age as bands (readable odds ratios) or a spline.")]
    = AgeEncoding.bands,
    top_percent: Annotated[float, typer.Option(help="High risk = this % of people with the highest risk.")] = 10.0,
    min_probability: Annotated[float | None, typer.Option(
        help="High risk = predicted risk at least this (0-1), instead of --top-percent.", show_default=False)] = None,
    seed: Annotated[int, typer.Option(help="Seed of the train/validation split by person.")] = 20261122,
    compare_gbm: Annotated[bool, typer.Option(help="Also fit gradient boosting and compare on held-out people.")]
    = True,
) -> None:
    """Train the risk model, save it as JSON, score everyone into risk_scores and print the headline."""
    from explorer.domain.risk import RiskDefinition
    from explorer.domain.risk_card import headline
    from explorer.services import train_region

    definition = (RiskDefinition("min_probability", min_probability) if min_probability is not None
                  else RiskDefinition("top_percent", top_percent))
    result = train_region(load_settings(), region.value, age=age.value, seed=seed, definition=definition,
                          compare_gbm=compare_gbm)
    typer.echo(f"{headline(result['report'])}\n  trained on {result['training_rows']:,} people (held out "
               f"{result['validation_rows']:,}) in {result['train_seconds']} s; scored {result['scored']:,} in "
               f"{result['score_seconds']} s\n  -> {result['model_path']}\n  -> {result['risk_scores']}")


@model_app.command("report")
@friendly
def model_report(
    region: Annotated[Region, typer.Option(help="Region whose model to report.")] = Region.london,
    fmt: Annotated[ReportFormat, typer.Option("--format", help="json, md or self-contained html.")]
    = ReportFormat.json,
) -> None:
    """Print the model card and held-out evaluation of the region's risk model."""
    from explorer.domain.risk_card import region_report, render_report

    typer.echo(render_report(region_report(load_settings(), region.value), fmt.value))


class DemoRole(StrEnum):
    analyst = "analyst"
    commissioner = "commissioner"
    strategist = "strategist"
    social_care = "social_care"


@app.command("serve")
@friendly
def serve(
    region: Annotated[Region, typer.Option(help="Region whose bundle and records to serve.")] = Region.london,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8050,
    workers: Annotated[int, typer.Option(min=1, help="gunicorn worker processes.")] = 2,
    threads: Annotated[int, typer.Option(min=1, help="Threads per worker. Above 1, gunicorn's gthread workers: "
                                         "a slow request no longer blocks the quick ones queued behind it "
                                         "(Python still runs one thread per worker at a time).")] = 1,
    demo: Annotated[bool, typer.Option(help="No sign-in: everyone views as --demo-role (shown on every page).")]
    = False,
    demo_role: Annotated[DemoRole, typer.Option(help="The role used in --demo mode.")] = DemoRole.commissioner,
    debug: Annotated[bool, typer.Option(help="Dash's single-process development server with debug tools.")]
    = False,
) -> None:
    """Run the web app: gunicorn with several workers, or Dash's development server with --debug."""
    import importlib.util
    import os

    from explorer.bundle.store import load_bundle

    settings = load_settings()
    if demo:
        from explorer.demo import prepare_demo

        prepare_demo(settings, region.value, say=typer.echo)
    load_bundle(settings, region.value)  # a missing bundle: a plain message now, not a worker crash later
    env = {"EXPLORER_REGION": region.value, "EXPLORER_DEMO_ROLE": demo_role.value if demo else ""}
    if debug:
        from explorer.app.factory import create_app

        create_app(settings, region.value, demo_role=env["EXPLORER_DEMO_ROLE"] or None, debug=True).run(
            host=host, port=port, debug=True)
        return
    if importlib.util.find_spec("gunicorn") is None:
        raise ExplorerError("gunicorn is not installed: pip install gunicorn, or use --debug")
    typer.echo(f"serving {region.value} on http://{host}:{port} with {workers} worker(s)"
               + (f" x {threads} threads" if threads > 1 else "")
               + (f", demo role {demo_role.value}" if demo else ", sign-in required"))
    os.environ.update(env)
    command = gunicorn_command(host, port, workers, threads)
    os.execv(command[0], command)


def gunicorn_command(host: str, port: int, workers: int, threads: int) -> list[str]:
    """The gunicorn command line, run by this interpreter as ``python -m gunicorn``.

    Not the ``gunicorn`` script on PATH: `explorer serve` run by its full path from a venv that is not
    activated would miss it (or find another environment's gunicorn, without our packages).
    --preload: the data is loaded and warmed once, then shared copy-on-write by the forked workers.
    """
    return [sys.executable, "-m", "gunicorn", "explorer.app.wsgi:server", "--workers", str(workers),
            "--bind", f"{host}:{port}", "--preload", "--timeout", "120", "--access-logfile", "-",
            *(["--worker-class", "gthread", "--threads", str(threads)] if threads > 1 else [])]


if __name__ == "__main__":
    app()
