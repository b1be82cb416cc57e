"""The append-only audit log: one JSON line per event (sign-ins, exports, every data view).

Several gunicorn worker processes write the same file, and it must rotate without losing or
interleaving lines, so writing goes through concurrent-log-handler's
ConcurrentRotatingFileHandler (a file lock around each write and each rotation) rather than a
hand-written scheme. Rotated files (audit.log.1 ... .N) are kept; archive them before N is
reached (EXPLORER_AUDIT_BACKUPS). Files are created owner-only.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from datetime import UTC, datetime
from pathlib import Path

from concurrent_log_handler import ConcurrentRotatingFileHandler

from explorer.auth.files import FILE_MODE, private_dir, tighten_all
from explorer.config import Settings

_loggers: dict[tuple[str, int], logging.Logger] = {}
_loggers_lock = threading.Lock()


def audit_path(settings: Settings) -> Path:
    return Path(os.environ.get("EXPLORER_AUDIT_LOG") or settings.data_dir / "audit.log")


def _logger(settings: Settings) -> logging.Logger:
    """One logger and handler per file and process (a handler's lock file must not cross a fork)."""
    path = audit_path(settings)
    key = (str(path), os.getpid())
    with _loggers_lock:
        if key not in _loggers:
            private_dir(path.parent)
            tighten_all([path, *path.parent.glob(path.name + ".*")])
            handler = ConcurrentRotatingFileHandler(str(path), maxBytes=settings.audit_max_bytes,
                                                    backupCount=settings.audit_backups, encoding="utf-8",
                                                    chmod=FILE_MODE)
            handler.setFormatter(logging.Formatter("%(message)s"))
            logger = logging.Logger(f"explorer.audit[{path}]", logging.INFO)  # not in the global registry
            logger.addHandler(handler)
            logger.propagate = False
            _loggers[key] = logger
        return _loggers[key]


def audit(settings: Settings, event: str, user: str | None, role: str | None = None, **details: object) -> None:
    """Append one event: when, what, who and in which role, plus the caller's details."""
    line = json.dumps({"at": datetime.now(UTC).isoformat(timespec="milliseconds"), "event": event, "user": user,
                       "role": role, **details}, default=str, ensure_ascii=False)
    _logger(settings).info(line)


def close_all() -> None:
    """Close every handler (tests that delete their directories; a clean shutdown)."""
    with _loggers_lock:
        for logger in _loggers.values():
            for handler in logger.handlers:
                handler.close()
        _loggers.clear()
