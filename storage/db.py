"""Engines, sessions and transactions; schema upgrades through Alembic; whole-database helpers for tests.

SQLite gets WAL, a busy timeout, foreign keys and ``BEGIN IMMEDIATE`` for write transactions (so two writers never
deadlock upgrading a read lock). PostgreSQL is used as is. Must not import Slack or handlers.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from bot.domain.errors import DatabaseUnavailableError
from storage.models import Base

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 30_000
PING_AFTER_IDLE_S = 1.0
"""A pooled PostgreSQL connection unused for longer than this is checked (one round trip) before it is handed out;
one in steady use is not, so a busy server pays no ping per transaction."""


_SQLITE_UNAVAILABLE = ("database is locked", "database table is locked", "unable to open database file",
                       "disk i/o error", "database or disk is full")
"""SQLite's words for a database it cannot use now (its other OperationalErrors are bugs, not outages)."""


def is_unavailable(error: BaseException) -> bool:
    """Whether a database error means the database cannot be reached or used now (retrying later may succeed).

    PostgreSQL: an ``OperationalError`` or ``InterfaceError`` (connection refused or lost, server shutting down),
    any error that invalidated its connection, or a pool that had no connection to give in time. SQLite: "database is
    locked" (after the busy timeout), a file that cannot be opened, a full disk or an I/O error.
    """
    if isinstance(error, PoolTimeoutError):
        return True
    if not isinstance(error, DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    if not isinstance(error, OperationalError | InterfaceError):
        return False
    if type(error.orig).__module__.startswith("sqlite3"):
        message = str(error.orig).lower()
        return any(words in message for words in _SQLITE_UNAVAILABLE)
    return True


@contextmanager
def unavailable_as_error() -> Iterator[None]:
    """Raise ``DatabaseUnavailableError`` (with the driver's first line as its cause) for an unreachable database."""
    try:
        yield
    except (DBAPIError, PoolTimeoutError) as exc:
        if not is_unavailable(exc):
            raise
        orig = getattr(exc, "orig", None) or exc
        lines = str(orig).strip().splitlines()
        raise DatabaseUnavailableError(f"{type(orig).__name__}: {lines[0] if lines else ''}") from exc


def make_engine(url: str, *, sqlite_busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS,
                ping_after_idle_s: float = PING_AFTER_IDLE_S, **kwargs: Any) -> Engine:
    """Create an engine for ``url`` with jobgate's connection settings.

    Args:
        url: a SQLAlchemy URL (``sqlite:///path`` or ``postgresql+psycopg://...``).
        sqlite_busy_timeout_ms: how long a SQLite statement waits for another process's lock before the database
            counts as unavailable.
        ping_after_idle_s: check a pooled PostgreSQL connection before use once it has been idle this long.
        **kwargs: passed to ``create_engine`` (tests and benchmarks size the pool). ``pool_pre_ping=False`` turns
            that check off.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        kwargs.setdefault("connect_args", {"timeout": sqlite_busy_timeout_ms / 1000, "check_same_thread": False})
        if database in ("", ":memory:"):
            kwargs.setdefault("poolclass", NullPool)
        engine = create_engine(url, **kwargs)
        _configure_sqlite(engine, sqlite_busy_timeout_ms)
        return engine
    ping = kwargs.pop("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    engine = create_engine(url, **kwargs)
    if ping:
        _ping_when_idle(engine, ping_after_idle_s)
    return engine


def _ping_when_idle(engine: Engine, idle_s: float) -> None:
    """Check a pooled connection before use only when it has been idle for ``idle_s``: one that died meanwhile (a
    database restart, a dropped TCP connection) is replaced by a fresh one, as SQLAlchemy's ``pool_pre_ping`` would,
    without its round trip on every checkout. A connection that fails while in steady use invalidates the pool (the
    request gets the usual "cannot reach its database" answer), so its siblings are not reused either."""

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info["checked_in_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        checked_in = record.info.get("checked_in_at")
        if checked_in is None or time.monotonic() - checked_in < idle_s:
            return  # new, or in steady use
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:  # any failure: the pool replaces the connection (and reports if it cannot)
            raise DisconnectionError(f"a pooled connection no longer answers: {exc}") from exc


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event emit BEGIN itself (pysqlite's own transaction handling is off).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")


class Database:
    """The one way into the database: read and write transactions as sessions."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.is_sqlite = engine.dialect.name == "sqlite"
        self.is_postgresql = engine.dialect.name == "postgresql"
        writer = engine.execution_options(sqlite_begin="IMMEDIATE") if self.is_sqlite else engine
        self._read = sessionmaker(bind=engine, expire_on_commit=False)
        self._write = sessionmaker(bind=writer, expire_on_commit=False)
        # SQLite has one writer at a time. Threads of this process queue for it here and are handed the lock the
        # moment it is free; left to SQLite, a waiting writer polls with sleeps of up to 100 ms (its busy handler),
        # which is where the tail of dispatch latency came from. Other processes still meet the busy timeout.
        self._writer_lock = threading.Lock() if self.is_sqlite else None

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> Database:
        return cls(make_engine(url, **kwargs))

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A write transaction: committed when the block ends, rolled back if it raises.

        Raises:
            DatabaseUnavailableError: the database cannot be reached or used now (see ``is_unavailable``).
        """
        with unavailable_as_error():
            if self._writer_lock is None:
                with self._write() as session, session.begin():
                    yield session
                return
            with self._writer_lock, self._write() as session, session.begin():
                yield session

    @contextmanager
    def single_statement(self) -> Iterator[Session]:
        """A write that is one statement, committed by itself (no BEGIN and COMMIT round trips on PostgreSQL).

        For a compare-and-set that needs nothing else in its transaction, such a claim of one run by id. On SQLite,
        an ordinary write transaction.
        """
        if not self.is_postgresql:
            with self.write() as session:
                yield session
            return
        with unavailable_as_error(), \
                self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection, \
                Session(bind=connection, expire_on_commit=False) as session:
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only transaction (rolled back at the end).

        Raises:
            DatabaseUnavailableError: the database cannot be reached or used now (see ``is_unavailable``).
        """
        with unavailable_as_error(), self._read() as session:
            yield session
            session.rollback()

    def ping(self) -> bool:
        """Whether the database answers now (a health check). Never raises; a failure is logged with its cause."""
        try:
            with self.engine.connect() as connection:
                connection.exec_driver_sql("SELECT 1")
        except Exception as exc:  # any failure to reach the database is an answer here, not an error
            log.warning("the database does not answer: %s: %s", type(exc).__name__, exc)
            return False
        return True

    def dispose(self) -> None:
        self.engine.dispose()


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply pending migrations (``jobgate db upgrade``; also run by ``jobgate serve`` at start)."""
    config = _alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def pending_migrations(engine: Engine) -> list[str]:
    """Revisions not yet applied to the database, oldest first."""
    script = ScriptDirectory.from_config(_alembic_config())
    with engine.connect() as connection:
        current = set(MigrationContext.configure(connection).get_current_heads())
    head_revisions = [rev.revision for rev in script.walk_revisions()]
    applied: set[str] = set()
    for rev in current:
        applied.update(r.revision for r in script.iterate_revisions(rev, "base"))
    return [r for r in reversed(head_revisions) if r not in applied]


def truncate_all(engine: Engine) -> None:
    """Empty every table jobgate keeps (identities restart on PostgreSQL); the schema and its version stay.

    For test databases that are reused between tests; never for a database anyone works with.
    """
    tables = Base.metadata.sorted_tables
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text(f"TRUNCATE {', '.join(t.name for t in tables)} RESTART IDENTITY CASCADE"))
            return
        for table in reversed(tables):
            connection.execute(table.delete())


def read_tables(engine: Engine, *names: str) -> dict[str, list[dict[str, Any]]]:
    """Every row of the named tables (of every table when none is named), as stored, keyed by column name.

    For tests that check what was, or was never, written (sensitive data, a column no record shows) and for
    diagnostics; the application reads through ``storage.repositories``.

    Raises:
        KeyError: a name is not one of jobgate's tables.
    """
    tables = [Base.metadata.tables[name] for name in names] or Base.metadata.sorted_tables
    with engine.connect() as connection:
        return {
            table.name: [dict(row) for row in connection.execute(
                select(table).order_by(*table.primary_key.columns)).mappings()]
            for table in tables
        }
