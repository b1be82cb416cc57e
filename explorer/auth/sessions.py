"""Server-side sessions: a signed cookie is not enough, its id must also be on record here.

The cookie holds a random session id; this table holds (id, name, expires). Sign-out deletes
the row, so a copied cookie stops working at once; every session also ends `max_seconds` after
sign-in whatever its use (absolute expiry). Idle expiry is kept in the signed cookie (last-seen
time, refreshed at most once a minute) so that ordinary requests do not write to the database.
"""

from __future__ import annotations

import secrets

from explorer.auth.db import AuthDB

SEEN_RESOLUTION = 60  # seconds: how often the cookie's last-seen time is refreshed


class SessionStore:
    """Live sessions, shared by every worker through the auth database."""

    def __init__(self, db: AuthDB, max_seconds: int):
        self.db, self.max_seconds = db, max_seconds
        with db.immediate() as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS sessions "
                         "(id TEXT PRIMARY KEY, name TEXT NOT NULL, created REAL NOT NULL, expires REAL NOT NULL)")

    def create(self, name: str, now: float) -> str:
        """A new session id for `name`; expired rows are swept out on the way."""
        sid = secrets.token_urlsafe(32)
        with self.db.immediate() as conn:
            conn.execute("DELETE FROM sessions WHERE expires <= ?", (now,))
            conn.execute("INSERT INTO sessions VALUES (?, ?, ?, ?)", (sid, name, now, now + self.max_seconds))
        return sid

    def is_live(self, sid: object, name: str, now: float) -> bool:
        """True only for a recorded, unexpired session of this user."""
        if not isinstance(sid, str) or not sid:
            return False
        row = self.db.connection().execute("SELECT expires FROM sessions WHERE id = ? AND name = ?",
                                           (sid, name)).fetchone()
        return row is not None and row[0] > now

    def revoke(self, sid: object) -> None:
        if isinstance(sid, str):
            with self.db.immediate() as conn:
                conn.execute("DELETE FROM sessions WHERE id = ?", (sid,))

    def revoke_user(self, name: str) -> int:
        """End every session of `name` (e.g. the user was removed); how many there were."""
        with self.db.immediate() as conn:
            return conn.execute("DELETE FROM sessions WHERE name = ?", (name,)).rowcount


def idle_expired(last_seen: object, now: float, idle_seconds: int) -> bool:
    """True if the cookie's last-seen time is missing, malformed or older than the idle limit."""
    return not isinstance(last_seen, int | float) or now - last_seen > idle_seconds
