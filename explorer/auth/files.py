"""Owner-only files for secrets: the users file, secret key, auth database and audit log.

Password hashes, the session signing key, lock-out counters and who-saw-what are all sensitive,
so they are created 0o600 (directories we create 0o700) and tightened at start if an older
version, a copy or a restore left them readable by others.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path

FILE_MODE = 0o600
DIR_MODE = 0o700


def private_dir(path: Path) -> Path:
    """Create `path` (and parents) owner-only; an existing directory is left as the operator set it."""
    if not path.exists():
        path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
        os.chmod(path, DIR_MODE)  # mkdir's mode is filtered by the umask
    return path


def private_file(path: Path) -> Path:
    """Create `path` empty with mode 0o600 if missing (O_EXCL: no race), else tighten its mode."""
    private_dir(path.parent)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    except FileExistsError:
        tighten(path)
    return path


def tighten(path: Path) -> bool:
    """Drop group and other permission bits of an existing file; True if it had any."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return False
    if mode & 0o077:
        os.chmod(path, mode & 0o700)
        return True
    return False


def tighten_all(paths: Iterable[Path]) -> list[Path]:
    """Tighten every existing file in `paths` (missing ones are skipped); the ones that were loose."""
    return [path for path in paths if tighten(path)]
