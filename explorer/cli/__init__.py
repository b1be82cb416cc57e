"""The `explorer` command: parses arguments and calls the layers below; no logic of its own.

One module per command group: data (sources, fetch, build, synth, import-*), reports (summary,
inequality), aggregate (records -> cell tables or a release), spc, outreach (the what-if), export (figures, tables and board
packs), model, serve and users; _common holds the shared options, errors and output.
"""

from __future__ import annotations

import typer

from explorer.cli import aggregate, data, export, export_pack, gaps, model, outreach, reports, serve, spc, users
from explorer.cli._common import Level, OutputFormat, Region, emit, friendly, tidy_numbers
from explorer.cli.serve import gunicorn_command

app = typer.Typer(help="Population Health Explorer: care-plan coverage, deprivation and risk by area.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
app.add_typer(data.data_app, name="data")
app.add_typer(users.users_app, name="users")
app.add_typer(model.model_app, name="model")
reports.register(app)
aggregate.register(app)
spc.register(app)
outreach.register(app)
gaps.register(app)  # gaps, activity
export.register(app)
export_pack.register(export.export_app)  # export table, export pack
serve.register(app)

__all__ = ["Level", "OutputFormat", "Region", "app", "emit", "friendly", "gunicorn_command", "tidy_numbers"]
