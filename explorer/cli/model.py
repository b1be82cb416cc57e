"""`explorer model`: train the emergency-admission risk model and report it."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from explorer.cli._common import CellsOption, Region, friendly, store_cells
from explorer.config import load_settings

model_app = typer.Typer(help="Train and report the emergency-admission risk model.", no_args_is_help=True)


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
    cells: CellsOption = True,
) -> None:
    """Train the risk model, save it as JSON, score everyone into risk_scores and print the headline,
    then store the cell tables (high-risk flags from the new scores)."""
    from explorer.domain.risk import RiskDefinition
    from explorer.domain.risk import headline
    from explorer.services import train_region

    definition = (RiskDefinition(kind="min_probability", value=min_probability) if min_probability is not None
                  else RiskDefinition(kind="top_percent", value=top_percent))
    result = train_region(load_settings(), region.value, age=age.value, seed=seed, definition=definition,
                          compare_gbm=compare_gbm)
    typer.echo(f"{headline(result['report'])}\n  trained on {result['training_rows']:,} people (held out "
               f"{result['validation_rows']:,}) in {result['train_seconds']} s; scored {result['scored']:,} in "
               f"{result['score_seconds']} s\n  -> {result['model_path']}\n  -> {result['risk_scores']}")
    store_cells(region.value, cells, score=False)  # the risk_scores just written: same cells, less work


@model_app.command("report")
@friendly
def model_report(
    region: Annotated[Region, typer.Option(help="Region whose model to report.")] = Region.london,
    fmt: Annotated[ReportFormat, typer.Option("--format", help="json, md or self-contained html.")]
    = ReportFormat.json,
) -> None:
    """Print the model card and held-out evaluation of the region's risk model."""
    from explorer.services.models import region_report, render_report

    typer.echo(render_report(region_report(load_settings(), region.value), fmt.value))
