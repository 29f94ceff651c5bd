"""Vacuuming where the server does not: PostgreSQL with autovacuum off.

On PostgreSQL every update and delete leaves the row's old version behind, and only a vacuum removes it
and marks the table's pages all-visible. Autovacuum normally does both. With it off (a choice some
operators make, scheduling vacuums themselves, or forget), this service's own writes slow it down as
they pile up:

* each event's fan-out flag (app.events.queue) and each patch leave a dead version;
* a page's `X-Total-Count` is an index-only count, which reads the table for every row on a page the
  visibility map does not mark all-visible: under a steady mixed load, a party's count read one page
  per customer created since the seed;
* the planner's statistics are never refreshed.

So, with `TMF629_VACUUM=auto` (the default) and the server's `autovacuum` off, or with
`TMF629_VACUUM=on`, the process that runs the dispatcher checks the service's tables every
`CHECK_SECONDS` in `pg_stat_user_tables`, and vacuums those past a rule of autovacuum's kind: `VACUUM`
when the dead and inserted rows since the last vacuum pass `THRESHOLD + VACUUM_FACTOR * rows` (a smaller
factor than autovacuum's 0.2, as counts lean on the visibility map), with `ANALYZE` when the rows changed
since the last analyze pass `THRESHOLD + ANALYZE_FACTOR * rows` (an analyze of `customer` samples 30,000
documents: it took up to 3 s at a factor of 0.1 under the bench's mixed load). One replica at a time
(a session advisory lock); a table is vacuumed on a pooled connection outside any transaction, and never
blocks reads or writes (a plain VACUUM takes no lock they wait for). `SKIP_LOCKED`: a table locked by a
migration or a TRUNCATE is left for a later round rather than waited for.
Only the tables the service's role may vacuum (it owns them) are looked at: for the others VACUUM would
only warn, in the server's log, every round.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

from sqlmodel import SQLModel

from app.store.periodic import Periodic
from app.store.postgres import PostgresStore

logger = logging.getLogger("tmf629.store")

Mode = Literal["auto", "on", "off"]
CHECK_SECONDS = 5.0
THRESHOLD = 1_000
VACUUM_FACTOR = 0.05
ANALYZE_FACTOR = 0.2
LOCK = 629_000_002  # pg_try_advisory_lock key: one replica vacuums at a time

STATS_SQL = """
SELECT s.relname, s.n_dead_tup, s.n_ins_since_vacuum, s.n_mod_since_analyze, greatest(c.reltuples, 0)
FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
WHERE s.schemaname = current_schema() AND s.relname = ANY($1::text[]) AND pg_has_role(c.relowner, 'USAGE')
ORDER BY s.relname
"""


@dataclass(frozen=True)
class TableStats:
    name: str
    dead: int
    inserted: int  # since the last vacuum
    modified: int  # since the last analyze
    rows: float  # the planner's estimate (pg_class.reltuples)

    def statement(self) -> str | None:
        """The upkeep this table is due, or None."""
        if self.modified > THRESHOLD + ANALYZE_FACTOR * self.rows:
            return f'VACUUM (SKIP_LOCKED, ANALYZE) "{self.name}"'
        if self.dead + self.inserted > THRESHOLD + VACUUM_FACTOR * self.rows:
            return f'VACUUM (SKIP_LOCKED) "{self.name}"'
        return None


def wanted(mode: Mode, autovacuum: str) -> bool:
    """Whether this process vacuums, given `TMF629_VACUUM` and the server's `autovacuum` setting."""
    return mode == "on" or (mode == "auto" and autovacuum != "on")


class Upkeep(Periodic):
    """The periodic vacuum task of one dispatcher process (PostgreSQL)."""

    name = "vacuuming"

    def __init__(self, store: PostgresStore, mode: Mode) -> None:
        super().__init__()
        self.store = store
        self.mode = mode
        self.interval = CHECK_SECONDS
        self.tables = sorted(SQLModel.metadata.tables)

    async def round(self) -> list[str]:
        """Vacuum every table that is due now; the statements run (none when another replica is at it)."""
        done: list[str] = []
        async with self.store.session() as conn:
            if not wanted(self.mode, await conn.fetchval("SELECT current_setting('autovacuum')")):
                return done
            if not await conn.fetchval("SELECT pg_try_advisory_lock($1)", LOCK):
                return done
            for record in await conn.fetch(STATS_SQL, self.tables):
                statement = TableStats(*record).statement()
                if statement is not None:
                    await conn.execute(statement)
                    done.append(statement)
            # On an error the session ends the connection instead, which releases the lock.
            await conn.execute("SELECT pg_advisory_unlock($1)", LOCK)
        return done

    def start(self) -> None:
        if self.mode != "off":
            super().start()

    async def tick(self) -> None:
        for statement in await self.round():
            logger.debug("ran %s", statement)
