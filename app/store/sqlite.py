"""SqliteStore: group-committed writes, by a writer process (creates, statements) and one writer thread (the
rest), inline reads with a step budget, and counts remembered under `PRAGMA data_version` (see
app.store.base for the why)."""

from __future__ import annotations

import asyncio
import functools
import logging
import socket
import sqlite3
import subprocess
import sys
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import orjson
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import QueuePool

from app.domain.errors import ServiceUnavailable
from app.settings import Settings
from app.store import writer_process
from app.store.base import SQLITE_PRAGMAS, Store, apply_pragmas, json_text, sync_url

T = TypeVar("T")
logger = logging.getLogger("tmf629.store")


class Inserts:
    """A unit of work that only inserts rows: (table, columns, rows) triples, in the order they are written (a
    row may refer to one of an earlier triple). Being data rather than a function, it runs together with the
    others of its shape queued next to it: the writer inserts their rows with one multi-row statement per
    table, where each function would be several statements, and a GIL round trip each, per unit."""

    __slots__ = ("shape", "tables")

    def __init__(self, *tables: tuple[str, tuple[str, ...], list[tuple[Any, ...]]]) -> None:
        self.tables = tables
        self.shape = tuple((table, columns) for table, columns, _rows in tables)


class _Statement:
    """`SqliteStore.execute`'s statement, as a unit for the writer process (which runs it alone)."""

    __slots__ = ("params", "sql")

    def __init__(self, sql: str, params: tuple[Any, ...]) -> None:
        self.sql, self.params = sql, params

    def __call__(self, conn: Connection) -> None:  # on the writer thread (a failed statement: `_to_thread`)
        conn.exec_driver_sql(self.sql, self.params)


Work = Callable[[Connection], Any] | Inserts
# A queued unit of work: the work, the future of its caller, and the caller's event loop.
_Unit = tuple[Work, "asyncio.Future[Any]", asyncio.AbstractEventLoop]
# Rows per statement, at most: 256 customers' 11 columns are far below SQLite's 32,766 parameters.
MAX_VALUES_ROWS = 256


@functools.lru_cache(maxsize=1024)
def _values_sql(table: str, columns: tuple[str, ...], rows: int) -> str:
    row = f"({', '.join('?' * len(columns))})"
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES {', '.join([row] * rows)}"


def _insert(execute: Callable[[str, Any], Any], units: Sequence[Inserts]) -> None:
    """On the writer thread, the rows of units of one shape, table by table in their order, one multi-row
    INSERT per table (per MAX_VALUES_ROWS rows). Each statement is one step of SQLite, so one release of the
    GIL and one wait to take it back from the event loop: under load, that wait costs more than SQLite's
    work (the writer process, which runs one-table runs, has no such wait)."""
    for position, (table, columns) in enumerate(units[0].shape):
        rows = [row for unit in units for row in unit.tables[position][2]]
        for start in range(0, len(rows), MAX_VALUES_ROWS):
            chunk = rows[start : start + MAX_VALUES_ROWS]
            execute(_values_sql(table, columns, len(chunk)), tuple(value for row in chunk for value in row))


def _runs(batch: list[_Unit]) -> Iterator[list[Work]]:
    """A batch's work in order, each Inserts together with the ones of its shape right after it."""
    run: list[Work] = []
    for work, _future, _loop in batch:
        first = run[0] if run else None
        if first is not None and not (
            isinstance(first, Inserts) and isinstance(work, Inserts) and work.shape == first.shape
        ):
            yield run
            run = []
        run.append(work)
    if run:
        yield run


def _settle(outcomes: list[tuple[asyncio.Future[Any], bool, Any]]) -> None:
    for future, ok, value in outcomes:
        if future.cancelled():
            continue
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)


def _run(conn: Connection, execute: Callable[[str, Any], Any], run: list[Work]) -> Any:
    """One unit of work, or a run of Inserts of one shape, whose result is None."""
    if isinstance(run[0], Inserts):
        _insert(execute, run)  # type: ignore[arg-type]
        return None
    return run[0](conn)


def _in_savepoint(
    conn: Connection, raw: sqlite3.Connection, execute: Callable[[str, Any], Any], run: list[Work]
) -> list[tuple[bool, Any]]:
    """A run inside a savepoint: if it fails, it rolls back alone, and a run of several is tried again one
    unit at a time, so only the unit at fault fails (the others of its run cannot tell it happened)."""
    raw.execute("SAVEPOINT unit")
    try:
        result = _run(conn, execute, run)
    except Exception as error:
        raw.execute("ROLLBACK TO unit")
        raw.execute("RELEASE unit")
        if len(run) == 1:
            return [(False, error)]
        return [outcome for work in run for outcome in _in_savepoint(conn, raw, execute, [work])]
    raw.execute("RELEASE unit")
    return [(True, result)] * len(run)


# The writers' statement journals (a write touching several indexes, the array-term triggers) stay in memory:
# on disk each write opened and deleted a temporary file.
_WRITER_CONNECTION_SETUP = "PRAGMA temp_store=MEMORY"


def _writer_connection(dbapi_connection: Any, _record: Any) -> None:
    """The writer thread's connection: statement journals in memory (as the writer process's), and no
    implicit BEGIN (every transaction begins explicitly, BEGIN IMMEDIATE)."""
    dbapi_connection.execute(_WRITER_CONNECTION_SETUP)
    dbapi_connection.isolation_level = None


# Readers see the database file through a memory map of up to this size (SQLite's default build limit,
# SQLITE_MAX_MMAP_SIZE), and the inline reader keeps up to READ_CACHE_KIB of pages: at 1,000,000 customers
# a GET by id read most of its pages with a read() system call each, outside the default 2 MiB cache.
# Pages of the WAL, and all writes, still go through system calls.
MMAP_BYTES = 2**31 - 2**16
READ_CACHE_KIB = 64 * 1024


def _mapped(dbapi_connection: Any, _record: Any = None) -> None:
    dbapi_connection.execute(f"PRAGMA mmap_size={MMAP_BYTES}")


def _for_process(work: Work) -> bool:
    """Whether the writer process can run `work`: a statement, or Inserts into one table."""
    return isinstance(work, _Statement) or (isinstance(work, Inserts) and len(work.tables) == 1)


def _rows(work: Work) -> int:
    return len(work.tables[0][2]) if isinstance(work, Inserts) else 1


class _WriterProcess(asyncio.Protocol):
    """The server's end of app.store.writer_process: statements go out on its socket from the event loop, and
    each answer byte, read by the loop's own poll, settles the units of the oldest statement still out."""

    def __init__(self, store: SqliteStore) -> None:
        self.store = store
        self.popen: subprocess.Popen[bytes] | None = None
        self.transport: asyncio.Transport | None = None
        # The requests sent and not answered yet: each a list of statements, each the units it writes.
        self.in_flight: deque[list[list[_Unit]]] = deque()
        self.answers = b""  # answer bytes received of the oldest request, short of all of them
        self.schema = 0  # how many of the store's writer-schema statements its connection made
        self.lost: asyncio.Future[None] = asyncio.get_running_loop().create_future()  # connection_lost

    async def start(self, path: str, setup: list[str], schema: int) -> None:
        self.schema = schema
        ours, theirs = socket.socketpair()
        with theirs:
            self.popen = subprocess.Popen(
                [sys.executable, writer_process.__file__, str(theirs.fileno()), path, orjson.dumps(setup)],
                pass_fds=(theirs.fileno(),),
            )
        try:
            transport, _ = await asyncio.get_running_loop().create_unix_connection(lambda: self, sock=ours)
        except BaseException:
            ours.close()  # the process reads the end of its input and ends
            raise
        self.transport = transport  # type: ignore[assignment]

    def send(self, statements: list[list[_Unit]]) -> None:
        """Statements for one transaction of the process: each a `_Statement` alone, or Inserts of one shape
        into one table as one VALUES list."""
        assert self.transport is not None
        request = []
        for units in statements:
            first = units[0][0]
            if isinstance(first, _Statement):
                request.append([first.sql, first.params])
                continue
            assert isinstance(first, Inserts)
            table, columns = first.shape[0]
            rows = [row for work, _, _ in units for row in work.tables[0][2]]  # type: ignore[union-attr]
            request.append([_values_sql(table, columns, len(rows)), [value for row in rows for value in row]])
        payload = orjson.dumps(request)
        self.in_flight.append(statements)
        self.transport.write(writer_process.HEADER.pack(len(payload)) + payload)

    def data_received(self, data: bytes) -> None:
        self.answers += data
        while self.in_flight and len(self.answers) >= len(self.in_flight[0]):
            statements = self.in_flight.popleft()
            answers, self.answers = self.answers[: len(statements)], self.answers[len(statements) :]
            failed = []
            for answer, units in zip(answers, statements, strict=True):
                if answer == writer_process.OK[0]:
                    _settle([(future, True, None) for _, future, _ in units])
                else:  # not written: the writer thread writes it again, and finds the unit at fault
                    failed += units
            if writer_process.OK[0] in answers:
                self.store.batches_committed += 1
            if failed:
                self.store._to_thread(failed)
        self.store._kick()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.lost.done():
            self.lost.set_result(None)
        if self.store._process is self:
            self.store._process = None
        error = ServiceUnavailable("the SQLite writer process exited")
        while self.in_flight:  # committed or not: unknown, so not written again
            _settle([(future, False, error) for units in self.in_flight.popleft() for _, future, _ in units])
        self.store._kick()

    async def close(self) -> None:
        """Close the socket (the process ends once it has read to the end) and wait for the process. From
        another event loop than its own (gone, most likely), nothing can take its answers: it is killed."""
        assert self.transport is not None and self.popen is not None  # started
        if not self.lost.done():
            if self.lost.get_loop() is asyncio.get_running_loop():
                self.transport.close()
                await self.lost
            else:
                self.popen.kill()
        for _ in range(10_000):  # 10 s at most
            if self.popen.poll() is not None:
                return
            await asyncio.sleep(0.001)
        self.popen.kill()


class SqliteStore(Store):
    dialect = "sqlite"
    MAX_BATCH = 256
    # Inline statements may run INLINE_BUDGET x INLINE_STEP virtual-machine steps (about a millisecond)
    # before SQLite interrupts them; an interrupted read is run again on the reader pool.
    INLINE_STEP = 1000
    INLINE_BUDGET = 100
    MAX_COUNTS = 4096

    def __init__(self, settings: Settings) -> None:
        url = sync_url(settings.database_url)
        self._path = make_url(url).database or ""
        self._writer_engine = self._engine(url, pool_size=1)
        event.listen(self._writer_engine, "connect", _writer_connection)
        self._writer_schema: list[str] = []
        event.listen(self._writer_engine, "connect", self._make_writer_schema)
        self._reader_engine = self._engine(url, pool_size=2)
        event.listen(self._reader_engine, "connect", _mapped)
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-writer")
        self._readers = ThreadPoolExecutor(max_workers=2, thread_name_prefix="sqlite-reader")
        self._hot: sqlite3.Connection | None = None
        self._budget = 0
        self._counts: dict[tuple[str, tuple[Any, ...]], int] = {}
        self._counts_version: int | None = None
        self.batches_committed = 0  # transactions the writer committed (each for one or more writes)
        self.inline_interrupted = 0  # inline reads that ran out of budget and went to the reader pool
        # Those reads (text and parameters, MAX_COUNTS at most): asked again, they go to the pool at once
        # rather than hold the event loop for a whole budget first.
        self._long_reads: set[tuple[str, tuple[Any, ...]]] = set()
        self._pending: deque[_Unit] = deque()
        self._draining = False
        # The writer process (`_WriterProcess`), fed from one event loop, the first to write: there, runs of
        # one-table Inserts and statements wait in `_staged` for the process; other units of work, and every
        # write of another loop, go to the writer thread. The two write at the same time and take turns at
        # SQLite's lock (its busy handler): holding the thread back while the process wrote, and the other
        # way round, made a unit of work wait for the thread's next turn at the GIL as well (the mixed load's
        # p99 went from 3 to 15 times its p50).
        self._by_process = self._path not in ("", ":memory:") and not self._path.startswith("file:")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._staged: deque[_Unit] = deque()
        self._process: _WriterProcess | None = None
        self._starting: asyncio.Task[None] | None = None

    @staticmethod
    def _engine(url: str, pool_size: int) -> Engine:
        engine = create_engine(
            url,
            poolclass=QueuePool,
            pool_size=pool_size,
            max_overflow=0,
            connect_args={"check_same_thread": False, "timeout": 5},
            json_serializer=json_text,
        )
        event.listen(engine, "connect", apply_pragmas)
        return engine

    def add_writer_schema(self, *statements: str) -> None:
        """Temporary objects (views, triggers) of the writer's connection, made as it connects: the
        shapes its Inserts may write through (one row of a view whose trigger writes several tables)."""
        new = [statement for statement in statements if statement not in self._writer_schema]
        if new:
            self._writer_schema.extend(new)
            self._writer_engine.dispose()  # a connection made before would lack them (`_kick` replaces
            # a writer process started before them)

    def _make_writer_schema(self, dbapi_connection: Any, _record: Any) -> None:
        for statement in self._writer_schema:
            dbapi_connection.execute(statement)

    def _hot_connection(self) -> sqlite3.Connection:
        if self._hot is None:
            conn = sqlite3.connect(self._path, check_same_thread=False, timeout=5, isolation_level=None)
            apply_pragmas(conn, None)
            conn.execute("PRAGMA query_only=ON")
            _mapped(conn)
            conn.execute(f"PRAGMA cache_size=-{READ_CACHE_KIB}")
            conn.set_progress_handler(self._spend, self.INLINE_STEP)
            self._hot = conn
        return self._hot

    def _spend(self) -> int:
        """SQLite's progress handler on the inline connection: interrupt once the budget is spent."""
        self._budget -= 1
        return 1 if self._budget < 0 else 0

    async def execute(self, sql: str, params: tuple[Any, ...]) -> None:
        await self.write(_Statement(sql, params))

    async def write(self, fn: Callable[[Connection], T] | Inserts) -> T:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        if self._by_process and _for_process(fn) and not self.traced and self._loop in (None, loop):
            self._loop = loop
            self._staged.append((fn, future, loop))
            self._kick()
        else:
            self._to_thread([(fn, future, loop)])
        return await future

    def _to_thread(self, units: list[_Unit]) -> None:
        """Units for the writer thread, which settles them."""
        self._pending.extend(units)
        if not self._draining:
            self._draining = True
            self._writer.submit(self._drain)

    def _kick(self) -> None:
        """On the writer process's event loop: send what `_staged` holds (MAX_BATCH units at most) as one
        request, one transaction of the process: each run of Inserts of one shape as one VALUES list, each
        statement alone. The process has one request out at a time: what queues meanwhile goes in the next
        one, the group commit of the thread's batches."""
        if not self._staged or (self._process is not None and self._process.in_flight):
            return
        if self._process is not None and self._process.schema != len(self._writer_schema):
            self._process.transport.close()  # type: ignore[union-attr]  # it ends; a new one starts
            self._process = None
        if self._process is None:
            if self._starting is None:
                self._starting = asyncio.ensure_future(self._start_process())
            return
        statements: list[list[_Unit]] = []
        sent = 0
        while self._staged and sent < self.MAX_BATCH:
            work = self._staged[0][0]
            units, rows = [self._staged.popleft()], _rows(work)
            while self._staged and isinstance(work, Inserts) and sent + len(units) < self.MAX_BATCH:
                unit = self._staged[0][0]
                if (
                    not isinstance(unit, Inserts)
                    or unit.shape != work.shape
                    or rows + _rows(unit) > MAX_VALUES_ROWS
                ):
                    break
                rows += _rows(unit)
                units.append(self._staged.popleft())
            statements.append(units)
            sent += len(units)
        self._process.send(statements)

    async def _start_process(self) -> None:
        process = _WriterProcess(self)
        try:
            schema = self._writer_schema
            await process.start(self._path, [*SQLITE_PRAGMAS, _WRITER_CONNECTION_SETUP, *schema], len(schema))
        except Exception:  # it cannot be started (no memory, no fds): the writer thread runs every write
            logger.exception("could not start the SQLite writer process; writing from the server's thread")
            self._by_process = False
            self._to_thread(list(self._staged))
            self._staged.clear()
        else:
            self._process = process
        finally:
            self._starting = None
        self._kick()

    def _drain(self) -> None:
        """Group commit, on the writer thread: every unit of work queued so far runs in one
        transaction, each (or each run of Inserts, `_runs`) inside its own savepoint, so a failing unit
        rolls back alone. Callers hear back only after the COMMIT. One commit (and one thread hand-off)
        serves many writes."""
        while True:
            batch = []
            while self._pending and len(batch) < self.MAX_BATCH:
                batch.append(self._pending.popleft())
            if not batch:
                self._draining = False
                if not self._pending:  # a write queued after the check: drain it too
                    return
                self._draining = True
                continue
            self._commit_batch(batch)

    def _commit_batch(self, batch: list[_Unit]) -> None:
        runs = list(_runs(batch))
        try:
            try:
                outcomes = self._commit(runs)
            except Exception:
                if len(runs) > 1 or len(runs[0]) == 1:
                    raise
                # One run of several Inserts was the whole transaction, without a savepoint: the unit at
                # fault is unknown, so each goes again in a new transaction, in a savepoint of its own.
                outcomes = self._commit([[work] for work in runs[0]])
        except Exception as error:  # the transaction itself failed: every unit in it failed
            outcomes = [(False, error)] * len(batch)
        # One wake-up per event loop for the whole batch, not one per unit of work.
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], bool, Any]]] = {}
        for (_fn, future, loop), (ok, value) in zip(batch, outcomes, strict=True):
            by_loop.setdefault(loop, []).append((future, ok, value))
        for loop, settled in by_loop.items():
            loop.call_soon_threadsafe(_settle, settled)

    def _commit(self, runs: list[list[Work]]) -> list[tuple[bool, Any]]:
        """The runs in one transaction, committed. Several runs each get a savepoint, so a failing one rolls
        back alone; a single run is the transaction, and its failure rolls the transaction back (raised)."""
        with self._writer_engine.connect() as conn:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            raw = conn.connection.driver_connection
            assert raw is not None
            # Traced, statements go through the Connection, where the spans see them.
            execute = conn.exec_driver_sql if self.traced else raw.execute
            try:
                if len(runs) == 1:  # the transaction is its savepoint: no statement journal
                    outcomes = [(True, _run(conn, execute, runs[0]))] * len(runs[0])
                else:
                    outcomes = [outcome for run in runs for outcome in _in_savepoint(conn, raw, execute, run)]
            except BaseException:
                conn.rollback()
                raise
            conn.commit()
        self.batches_committed += 1
        return outcomes

    async def read(self, fn: Callable[[Connection], T]) -> T:
        def run() -> T:
            with self._reader_engine.connect() as conn:
                return fn(conn)

        return await asyncio.get_running_loop().run_in_executor(self._readers, run)

    async def fetch_row(self, sql: str, params: tuple[Any, ...]) -> tuple[Any, ...] | None:
        # A primary-key lookup: inline, and one step of the statement (fetchall would take a second).
        self._budget = self.INLINE_BUDGET
        row: tuple[Any, ...] | None = self._hot_connection().execute(sql, params).fetchone()
        return row

    async def fetch_count(self, sql: str, params: tuple[Any, ...]) -> int:
        """Counts are remembered until the database changes. `PRAGMA data_version` on the inline
        connection moves with every commit of any other connection, this process's writer and other
        processes alike, so a remembered count is always the current one. Counting the matches of a
        filter costs in proportion to their number; a page of them does not."""
        version = self._hot_connection().execute("PRAGMA data_version").fetchone()[0]
        if version != self._counts_version or len(self._counts) >= self.MAX_COUNTS:
            self._counts.clear()
            self._counts_version = version
        key = (sql, params)
        count = self._counts.get(key)
        if count is None:
            count = await super().fetch_count(sql, params)
            self._counts[key] = count
        return count

    async def fetch_all(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        # Inline on the event loop: an indexed read on a WAL reader costs microseconds, far less than a
        # hop to a thread and back. The progress budget keeps a read that turns out long from stalling
        # the loop: SQLite interrupts it, and the reader pool runs it instead.
        if not self._long_reads or (sql, params) not in self._long_reads:
            self._budget = self.INLINE_BUDGET
            try:
                rows: list[tuple[Any, ...]] = self._hot_connection().execute(sql, params).fetchall()
                return rows
            except sqlite3.OperationalError as error:
                if "interrupt" not in str(error):
                    raise
                self.inline_interrupted += 1
                if len(self._long_reads) >= self.MAX_COUNTS:
                    self._long_reads.clear()
                self._long_reads.add((sql, params))

        def run() -> list[tuple[Any, ...]]:
            raw = self._reader_engine.raw_connection()
            try:
                result: list[tuple[Any, ...]] = raw.cursor().execute(sql, params).fetchall()
                return result
            finally:
                raw.close()

        return await asyncio.get_running_loop().run_in_executor(self._readers, run)

    def sql_engines(self) -> list[Engine]:
        return [self._writer_engine, self._reader_engine]

    def pool_in_use(self) -> int:
        """Writes queued for the writer thread (SQLite's only contended resource)."""
        return len(self._pending) + len(self._staged)

    async def dispose(self) -> None:
        if self._loop is asyncio.get_running_loop():
            while self._staged or self._starting or (self._process and self._process.in_flight):
                await asyncio.sleep(0.001)
        if self._process is not None:
            await self._process.close()
        self._writer.shutdown(wait=True)
        self._readers.shutdown(wait=True)
        self._writer_engine.dispose()
        self._reader_engine.dispose()
        if self._hot is not None:
            self._hot.close()
