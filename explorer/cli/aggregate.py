"""`explorer aggregate`: person-level records -> the cell tables the app reads (DuckDB, Spark or Dask),
or, with --release ROLE, only the disclosure-controlled tables that may leave a secure environment."""

from __future__ import annotations

import json
import tempfile
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from explorer.cli._common import Region, friendly
from explorer.cli.reports import CliRole
from explorer.errors import ExplorerError


class Engine(StrEnum):
    duckdb = "duckdb"
    spark = "spark"
    dask = "dask"


def aggregate(
    records: Annotated[Path | None, typer.Option(help="Records directory (people/, plans/, ... Parquet parts); "
                                                 "default: the region's records in the data directory.",
                                                 show_default=False)] = None,
    out: Annotated[Path | None, typer.Option(help="Directory to write (replaced as a whole, atomically); default "
                                             "<data_dir>/cells/<region>, where the app and the CLI start from.",
                                             show_default=False)] = None,
    engine: Annotated[Engine, typer.Option(help="duckdb (one machine), spark (local or a cluster's session) "
                                           "or dask (a distributed LocalCluster).")] = Engine.duckdb,
    release: Annotated[CliRole | None, typer.Option(
        help="Write only the metric tables ROLE may see, disclosure-controlled, with a release log "
             "(what may leave a secure environment); the cell tables themselves are not written.",
        show_default=False)] = None,
    region: Annotated[Region, typer.Option(help="Region of the default records and cells, and whose bundle "
                                           "(areas) a release is made for.")] = Region.london,
    cells: Annotated[Path | None, typer.Option(help="With --release: also keep the cell tables here "
                                               "(default: a temporary directory, removed).",
                                               show_default=False)] = None,
    partitions: Annotated[int | None, typer.Option(min=1, help="Dask: person buckets (default: the people "
                                                   "table's partitions).", show_default=False)] = None,
    model: Annotated[Path | None, typer.Option(help="Risk model JSON to score people with inside the engine "
                                               "(deciles from the region's bundle); default: the region's "
                                               "model (<data_dir>/models/<region>/admission_risk.json) when "
                                               "present, else the risk_scores table.",
                                               show_default=False)] = None,
    score: Annotated[bool, typer.Option("--score/--no-score", help="--no-score: read the risk_scores table "
                                        "written by `explorer model train` instead of scoring in the engine.")
                     ] = True,
) -> None:
    """Aggregate person-level records to the cell tables (or a controlled release of them)."""
    from explorer.config import load_settings
    from explorer.records.aggregate import records_directory
    from explorer.records.cellstore import cells_dir
    from explorer.services.cells import make_cells, region_scoring

    settings = load_settings()
    records = records or records_directory(settings, region.value)
    if out is None:
        if release is not None:
            raise ExplorerError("--release needs --out DIR: the directory an output checker reviews")
        out = cells_dir(settings, region.value)
    options = {"npartitions": partitions} if engine is Engine.dask and partitions else {}
    options["scoring"] = region_scoring(settings, region.value, model, score)
    if release is None:
        manifest = make_cells(records, out, engine=engine.value, **options)
        typer.echo(json.dumps({"out": str(out), "engine": engine.value, "seconds": manifest["seconds"],
                               "risk_scores": manifest.get("risk_scores"),
                               "tables": {k: v["rows"] for k, v in manifest["tables"].items()}}, indent=2))
        return
    from explorer.bundle.store import load_bundle
    from explorer.services.release_set import release_policy, write_release

    release_policy(release.value)  # refuse before any work
    bundle = load_bundle(settings, region.value)
    with tempfile.TemporaryDirectory(prefix="explorer-cells-") as tmp:
        kept = cells or Path(tmp) / "cells"
        make_cells(records, kept, engine=engine.value, **options)
        log = write_release(bundle, kept, out, release.value)
    typer.echo(f"release for role {release.value} written to {out}: {len(log['files'])} files; "
               f"check {out / 'release_log.txt'} before it leaves")


def register(app: typer.Typer) -> None:
    app.command("aggregate")(friendly(aggregate))
