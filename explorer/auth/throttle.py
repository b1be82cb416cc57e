"""Sign-in throttling and lock-out, decided BEFORE any password is hashed.

Each attempt first reserves a row in the shared SQLite table inside one BEGIN IMMEDIATE
transaction (check the counts, then insert), so two workers or threads cannot both take the
last allowed guess; a successful sign-in then removes its reservation. Three counts within
WINDOW seconds decide, so that one attacker can neither guess freely nor lock a user out from
everywhere:

- per (name, address): PAIR_LIMIT failures lock that name *from that address* only;
- per address: ADDRESS_LIMIT failures for any names throttle that address (password spraying,
  spamming that would burn CPU on argon2);
- per name from all addresses: NAME_LIMIT (much higher) locks the name everywhere, against a
  guesser spread over many addresses. Locking a user out globally needs that many addresses'
  worth of attempts, not 5 requests.
"""

from __future__ import annotations

from dataclasses import dataclass

from explorer.auth.db import AuthDB
from explorer.errors import ExplorerError

WINDOW = 15 * 60  # seconds
PAIR_LIMIT = 5
ADDRESS_LIMIT = 30
NAME_LIMIT = 50


class SignInRefused(ExplorerError):
    """Wrong name or password, or a locked account; the message never says which part was wrong."""


class Throttled(SignInRefused):
    """Too many recent failures: refused without checking the password at all."""


@dataclass(frozen=True)
class Ticket:
    """A reserved attempt; counts as a failure unless `SignInThrottle.succeeded` removes it."""

    row: int
    name: str
    address: str


class SignInThrottle:
    """Failed (and in-flight) sign-in attempts per name and client address, shared by all workers."""

    def __init__(self, db: AuthDB):
        self.db = db
        with db.immediate() as conn:
            conn.execute("DROP TABLE IF EXISTS failures")  # the per-name-only counter it replaces
            conn.execute("CREATE TABLE IF NOT EXISTS attempts "
                         "(id INTEGER PRIMARY KEY, name TEXT NOT NULL, address TEXT NOT NULL, at REAL NOT NULL)")
            conn.execute("CREATE INDEX IF NOT EXISTS attempts_name ON attempts (name, at)")
            conn.execute("CREATE INDEX IF NOT EXISTS attempts_address ON attempts (address, at)")

    def reserve(self, name: str, address: str, now: float) -> Ticket:
        """Count this attempt, or raise Throttled if the name or address is over a limit."""
        since = now - WINDOW
        with self.db.immediate() as conn:
            conn.execute("DELETE FROM attempts WHERE at <= ?", (since,))
            pair, by_name = conn.execute(
                "SELECT COALESCE(SUM(address = ?), 0), COUNT(*) FROM attempts WHERE name = ? AND at > ?",
                (address, name, since)).fetchone()
            (by_address,) = conn.execute("SELECT COUNT(*) FROM attempts WHERE address = ? AND at > ?",
                                         (address, since)).fetchone()
            if pair >= PAIR_LIMIT or by_name >= NAME_LIMIT:
                raise Throttled(f"Too many failed attempts: this account is locked for {WINDOW // 60} minutes.")
            if by_address >= ADDRESS_LIMIT:
                raise Throttled(f"Too many failed attempts from your network: try again in {WINDOW // 60} minutes.")
            row = conn.execute("INSERT INTO attempts (name, address, at) VALUES (?, ?, ?)",
                               (name, address, now)).lastrowid
        return Ticket(int(row), name, address)

    def succeeded(self, ticket: Ticket) -> None:
        """The right password: forget this attempt and the earlier failures from this address."""
        with self.db.immediate() as conn:
            conn.execute("DELETE FROM attempts WHERE id = ? OR (name = ? AND address = ?)",
                         (ticket.row, ticket.name, ticket.address))

    def count(self, *, name: str | None = None, address: str | None = None) -> int:
        """Attempts on record for a name and/or address (for tests and the operator)."""
        sql, args = "SELECT COUNT(*) FROM attempts WHERE 1", []
        if name is not None:
            sql, args = sql + " AND name = ?", [*args, name]
        if address is not None:
            sql, args = sql + " AND address = ?", [*args, address]
        return int(self.db.connection().execute(sql, args).fetchone()[0])
