"""The auth database: one SQLite file shared by every gunicorn worker (lock-out counts, sessions).

Connections are kept per thread and per process (a connection must not cross a fork) so the
per-request session check costs one indexed SELECT, not a new connection. WAL mode lets those
reads run while another worker writes. `immediate()` is the one way to change counters: BEGIN
IMMEDIATE takes the write lock before the first read, so check-and-increment is atomic across
threads and processes.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from explorer.auth.files import private_file, tighten_all

BUSY_TIMEOUT_SECONDS = 10


class AuthDB:
    """A path plus per-thread connections; the file and its WAL files are owner-only."""

    def __init__(self, path: Path):
        self.path = private_file(path)  # SQLite gives new -wal/-shm files the database file's mode
        self.sidecars = [path.with_name(path.name + suffix) for suffix in ("-wal", "-shm", "-journal")]
        tighten_all(self.sidecars)  # ones left loose by an older version
        self._local = threading.local()
        self.connection().execute("PRAGMA journal_mode=WAL")  # must run outside a transaction

    def connection(self) -> sqlite3.Connection:
        """This thread's connection, opened on first use in this process."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None or getattr(self._local, "pid", None) != os.getpid():
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None,
                                   check_same_thread=False)
            self._local.conn, self._local.pid = conn, os.getpid()
        return conn

    @contextmanager
    def immediate(self) -> Iterator[sqlite3.Connection]:
        """A write transaction holding the database's write lock from its first statement."""
        conn = self.connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
