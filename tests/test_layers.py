"""The import contract (pyproject.toml [tool.importlinter]) holds, and it catches a violation.

`scripts/test.sh` runs `lint-imports` before the tests; these tests show it passes on the code as it
is and fails when the domain imports something it must not (a copy of the package with one bad
import added), so a broken layer cannot slip through.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def lint(root: Path) -> subprocess.CompletedProcess:
    command = [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command; "
               "sys.exit(lint_imports_command())"]
    env = {"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"}
    return subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, timeout=300)


def copy_project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    shutil.copytree(REPO / "explorer", root / "explorer", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
    return root


def test_the_layers_hold(tmp_path: Path) -> None:
    result = lint(copy_project(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_forbidden_import_breaks_the_contract(tmp_path: Path) -> None:
    root = copy_project(tmp_path)
    stats = root / "explorer" / "domain" / "stats" / "__init__.py"
    stats.write_text(stats.read_text() + "\nimport plotly  # a deliberate violation\n")
    result = lint(root)
    assert result.returncode != 0
    assert "The domain is pure" in result.stdout and "explorer.domain.stats -> plotly" in result.stdout
