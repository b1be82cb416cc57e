"""`explorer data`: the public sources, the bundle build, synthetic records and real-extract imports."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from explorer.cli._common import CellsOption, MirrorOption, Region, friendly, store_cells
from explorer.config import load_settings
from explorer.errors import DownloadError, ExplorerError
from explorer.records.schema import LAYOUTS, Layout

data_app = typer.Typer(help="Fetch public data and build the processed bundle.", no_args_is_help=True)


@data_app.command("sources")
def data_sources() -> None:
    """List the official datasets the tool uses, with publisher, licence and download location."""
    from explorer.sources.registry import SOURCES

    for source in SOURCES.values():
        tag = "  [optional: synthetic fallback when absent]" if source.synthetic_fallback else ""
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
    from explorer.sources.registry import GP_SOURCES, SOURCES

    settings = load_settings(mirror)
    names = only or list(SOURCES)
    unknown = sorted(set(names) - set(SOURCES))
    if unknown:
        raise ExplorerError(f"unknown source(s) {', '.join(unknown)}; see `explorer data sources`")
    failures = []
    for name in names:
        try:
            got = fetch_source(settings, SOURCES[name], force=force)
            typer.echo(f"ok  {name:24s} {got.size / 1e6:8.1f} MB  sha256 {got.sha256[:12]}  from {got.location}")
        except DownloadError as exc:
            if name in GP_SOURCES and not only:  # optional: the build falls back to synthetic GP files
                typer.echo(f"--  {name:24s} not fetched ({exc}); the build will use synthetic GP files")
                continue
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
        + gp_accounting_lines(manifest)
        + age_source_line(manifest)
        + f"  -> {settings.bundle_dir(region.value)}"
    )


def age_source_line(manifest: dict) -> str:
    """'  age structure: 4,994 LSOAs from ..., ...' (explorer.bundle.population), or '' for an older bundle."""
    sources = manifest.get("lsoas_by_age_structure_source")
    if not sources:
        return ""
    from explorer.bundle.population import SOURCE_LABELS

    return "  age structure: " + ", ".join(f"{n:,} LSOAs from {SOURCE_LABELS.get(k, k)}"
                                          for k, n in sources.items()) + "\n"


@data_app.command("neighbours")
@friendly
def data_neighbours(
    region: Annotated[Region, typer.Option(help="Which region's bundle to add the table to.")] = Region.london,
    mirror: MirrorOption = None,
) -> None:
    """Add the national nearest-neighbour features to a bundle built before they existed."""
    from explorer.services.build import add_neighbour_features

    settings = load_settings(mirror)
    done = add_neighbour_features(settings, region.value)
    typer.echo(f"neighbour features: {done['places']} places and {done['pcns']} PCNs in England, "
               f"{done['seconds']} s -> {settings.bundle_dir(region.value)}")


def gp_accounting_lines(manifest: dict) -> str:
    """Where every registered patient in the GP file went: converted, dropped or unmatched, with reasons.

    These are published national counts of the open NHS file, not records of people, so they are
    printed as published (no disclosure control applies)."""
    acc, pcns = manifest.get("gp_accounting"), manifest.get("pcns", {})
    if not acc:
        return ""
    lines = [f"  GP file: {acc['patients_in_file']:,} patients in {acc['rows_in_file']:,} rows "
             f"(LSOA {acc['lsoa_year']} codes); {acc['converted']:,} carried to LSOA 2021"]
    for kind in ("dropped", "unmatched"):
        for reason, n in acc[kind].items():
            lines.append(f"    {kind}: {n['patients']:,} patients in {n['rows']:,} rows: {reason}")
    if acc["practices_not_in_map"]:
        lines.append(f"    {acc['practices_not_in_map']} practices ({acc['practices_not_in_map_patients']:,} patients) "
                     f"are not in the practice map, e.g. {', '.join(acc['practices_not_in_map_examples'][:5])}")
    if pcns:
        lines.append(f"  PCNs: {pcns['in_bundle']} based in the region ({pcns['drawn_on_lsoa_map']} drawn), "
                     f"{pcns['in_map_region_icbs']} in its ICBs and {pcns['in_map_england']:,} in England in the map; "
                     f"{pcns['crossing_place_boundary']} cross a place boundary; "
                     f"{pcns['practices_unallocated']} practices in no PCN")
    return "\n".join(lines) + "\n"


@data_app.command("synth")
@friendly
def data_synth(
    region: Annotated[Region, typer.Option(help="Region whose bundle to generate records for.")] = Region.london,
    seed: Annotated[int, typer.Option(help="Seed for the synthetic people, plans and users.")] = 20261122,
    cells: CellsOption = True,
    ics: Annotated[list[str] | None, typer.Option(
        "--ics", metavar="CODE", help="Generate records for this ICS only (ICB code, e.g. E54000018; repeat for "
        "more): an ICS deploying the tool for itself. The region's other areas then show no data.")] = None,
) -> None:
    """Generate the seeded synthetic person-level records (people, plans, reviews, views, users, logins),
    then store the cell tables the app and the CLI start from."""
    from explorer.bundle.store import load_bundle
    from explorer.records.store import records_dir
    from explorer.synth.careplans import generate_records

    settings = load_settings()
    manifest = generate_records(settings, load_bundle(settings, region.value), seed=seed, ics=ics or None)
    rows, cal = manifest["rows"], manifest["calibration"]
    scope = f", ICS {', '.join(manifest['ics_scope'])} only" if manifest.get("ics_scope") else ""
    typer.echo(
        f"generated {region.value}{scope} (seed {seed}) in {manifest['generation_seconds']} s: "
        + ", ".join(f"{n:,} {table}" for table, n in rows.items())
        + f"\n  active plans {cal['active_plans']:,} (target {cal['active_plans_target']:,.0f}), emergency "
        f"admission rate {cal['emergency_admission_rate']:.1%}\n  -> {records_dir(settings, region.value)}"
    )
    store_cells(region.value, cells)


ExtractFile = Annotated[Path, typer.Argument(help="The extract: CSV (UTF-8 or Windows-1252) or Excel .xlsx, "
                                             "in the layout of docs/import-layouts.md.", show_default=False)]
ImportRegion = Annotated[Region, typer.Option(help="Region whose records to replace.")]
ExtractDate = Annotated[
    datetime | None,
    typer.Option(formats=["%Y-%m-%d"], metavar="YYYY-MM-DD", show_default=False,
                 help="Date the extract was taken; no date may be after it (default: today)."),
]

ALL_OR_NOTHING = "every row is checked; all rows are stored, or none."
IMPORT_HELP = {  # layout name -> the command's help
    "people": "Import a people (registration and risk-factor) extract; checked row by row, stored all or nothing.",
    "plans": f"Import a care-plan extract: {ALL_OR_NOTHING}",
    "plan_reviews": f"Import a plan-review extract: {ALL_OR_NOTHING}",
    "plan_views": f"Import a plan-view extract: {ALL_OR_NOTHING}",
    "users": f"Import a user extract: {ALL_OR_NOTHING}",
    "user_logins": f"Import a monthly-logins extract: {ALL_OR_NOTHING}",
    "admissions": f"Import an emergency-admissions extract: {ALL_OR_NOTHING}",
}


def import_command_name(layout: Layout) -> str:
    """plan_reviews -> import-reviews, user_logins -> import-logins, people -> import-people."""
    return "import-" + layout.name.split("_")[-1]


def _import_extract(table: str, file: Path, region: Region, mirror: Path | None, extract_date: datetime | None,
                    cells: bool = True) -> None:
    from explorer.records.imports import import_extract

    result = import_extract(load_settings(mirror), region.value, table, file,
                            extract_date=extract_date.date() if extract_date else None)
    typer.echo(f"imported {result.rows:,} rows of {table} from {file.name} as real data\n  -> {result.path}")
    for notice in result.notices:
        typer.echo(f"  note: {notice}")
    store_cells(region.value, cells)


def _import_command(layout: Layout) -> Callable[..., None]:
    """The `explorer data import-...` command for one layout."""
    table = layout.name

    def command(file: ExtractFile, region: ImportRegion = Region.london, mirror: MirrorOption = None,
                extract_date: ExtractDate = None, cells: CellsOption = True) -> None:
        _import_extract(table, file, region, mirror, extract_date, cells)

    command.__name__ = command.__qualname__ = "data_" + import_command_name(layout).replace("-", "_")
    command.__doc__ = IMPORT_HELP[table]
    return command


for _layout in LAYOUTS.values():
    data_app.command(import_command_name(_layout), help=IMPORT_HELP[_layout.name])(
        friendly(_import_command(_layout)))
