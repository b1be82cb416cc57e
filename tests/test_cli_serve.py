"""`explorer serve` runs gunicorn with the interpreter it runs in, not whatever `gunicorn` is on PATH."""

from __future__ import annotations

import os
import sys

import pytest
from typer.testing import CliRunner

from explorer import cli

runner = CliRunner()


class Execed(Exception):
    """Raised by the fake os.execv so the test sees the command instead of being replaced by it."""


def test_gunicorn_command_uses_the_running_interpreter():
    command = cli.gunicorn_command("127.0.0.1", 8050, 3, 4)
    assert command[:3] == [sys.executable, "-m", "gunicorn"]
    assert "explorer.app.wsgi:server" in command and "--preload" in command
    assert command[command.index("--workers") + 1] == "3" and command[command.index("--bind") + 1] == "127.0.0.1:8050"
    assert command[command.index("--threads") + 1] == "4"
    assert "--threads" not in cli.gunicorn_command("0.0.0.0", 80, 1, 1)


def test_serve_execs_python_m_gunicorn_even_with_no_gunicorn_on_path(monkeypatch, tmp_path):
    """As when the venv is not activated: PATH has no gunicorn script, the venv's python has the module."""
    import explorer.bundle.store as store

    calls: list[tuple[str, list[str]]] = []

    def fake_execv(path: str, args: list[str]) -> None:
        calls.append((path, args))
        raise Execed

    monkeypatch.setenv("PATH", str(tmp_path))  # nothing on PATH at all
    monkeypatch.setattr(store, "load_bundle", lambda settings, region: None)
    monkeypatch.setattr(os, "execv", fake_execv)
    monkeypatch.setattr(os, "environ", dict(os.environ))  # serve sets EXPLORER_REGION; keep it to this test
    result = runner.invoke(cli.app, ["serve", "--workers", "2", "--port", "8123"])
    assert isinstance(result.exception, Execed), result.output
    path, args = calls[0]
    assert path == sys.executable and args[:3] == [sys.executable, "-m", "gunicorn"]
    assert "127.0.0.1:8123" in args


def test_serve_says_plainly_when_gunicorn_is_missing(monkeypatch):
    import importlib.util

    import explorer.bundle.store as store

    real = importlib.util.find_spec
    monkeypatch.setattr(store, "load_bundle", lambda settings, region: None)
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "gunicorn" else real(name, *a))
    monkeypatch.setattr(os, "execv", lambda *a: pytest.fail("must not exec without gunicorn"))
    result = runner.invoke(cli.app, ["serve"])
    assert result.exit_code == 2 and "gunicorn is not installed" in result.output
