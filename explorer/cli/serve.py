"""`explorer serve`: the web app under gunicorn, or Dash's development server with --debug."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from explorer.cli._common import Region, friendly
from explorer.config import load_settings
from explorer.errors import ExplorerError


class DemoRole(StrEnum):
    analyst = "analyst"
    commissioner = "commissioner"
    strategist = "strategist"
    social_care = "social_care"


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
    release: Annotated[Path | None, typer.Option(help="Serve a released aggregate (`explorer aggregate --release "
                                                 "ROLE`) instead of the records: its maps and tables, for that "
                                                 "role only.", show_default=False)] = None,
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
    if release is not None:
        from explorer.services.app_data import RELEASE_ENV
        from explorer.services.release_set import ReleasedEngine

        ReleasedEngine.open(release)  # not a release: a plain message now
        env[RELEASE_ENV] = str(release.resolve())
        os.environ[RELEASE_ENV] = env[RELEASE_ENV]
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


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
