"""Storage on real databases: migrations match the models and keep the data, instants round-trip exactly, SQLite is
set up safely, and the whole-database helpers the tests use."""

from __future__ import annotations

import sqlite3
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, MetaData, event, insert, make_url, select, text
from sqlalchemy.exc import OperationalError

from bot.domain.errors import DatabaseUnavailableError
from storage.db import Database, _alembic_config, pending_migrations, read_tables, truncate_all, upgrade
from storage.models import AuditEventRow, Base
from storage.repositories import Repositories
from tests.conftest import POSTGRES_URL
from tests.storage.conftest import NOW, add_job, new_job_result, new_scheduled_job, write
from tests.tcp_proxy import TcpProxy


def test_the_migrations_build_exactly_the_models(database: Database) -> None:
    with database.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []
    assert pending_migrations(database.engine) == []


@pytest.mark.parametrize(
    "instant",
    [
        datetime(2030, 1, 1, 9, 0, 0, 123456, tzinfo=UTC),
        datetime(2026, 3, 29, 3, 30, tzinfo=timezone(timedelta(hours=2))),
        datetime(1999, 12, 31, 23, 59, 59, tzinfo=UTC),
    ],
)
def test_instants_round_trip_as_aware_utc(database: Database, instant: datetime) -> None:
    with database.write() as session:
        session.add(AuditEventRow(created_at=instant, action="test", object_type="test", detail={}))
    with database.read() as session:
        stored = session.scalars(select(AuditEventRow.created_at)).one()
    assert stored == instant and stored.tzinfo is not None and stored.utcoffset() == timedelta(0)


def test_naive_datetimes_are_refused(database: Database) -> None:
    with pytest.raises(Exception, match="naive datetime"), database.write() as session:
        session.add(AuditEventRow(created_at=datetime(2030, 1, 1), action="t", object_type="t", detail={}))
        session.flush()


def test_instants_compare_correctly_in_sql(database: Database) -> None:
    base = datetime(2030, 1, 1, tzinfo=UTC)
    with database.write() as session:
        for minutes in (30, -30, 0):
            session.add(AuditEventRow(created_at=base + timedelta(minutes=minutes), action=str(minutes),
                                   object_type="t", detail={}))
    with database.read() as session:
        before = session.scalars(select(AuditEventRow.action).where(AuditEventRow.created_at < base)).all()
    assert before == ["-30"]


def test_sqlite_runs_in_wal_mode_with_foreign_keys_and_a_busy_timeout(tmp_path: Path) -> None:
    db = Database.from_url(f"sqlite:///{tmp_path / 'x.db'}")
    with db.engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() == 30000
    db.dispose()


def test_the_dispatcher_queries_use_the_due_index(database: Database) -> None:
    """An idle dispatch pass must cost the same with 100 or 100,000 scheduled jobs: no table scan."""
    statements: list[str] = []

    def capture(_conn: object, _cursor: object, statement: str, *_rest: object) -> None:
        statements.append(statement)

    event.listen(database.engine, "before_cursor_execute", capture)
    with database.write() as session:
        repos = Repositories(session)
        repos.scheduled_jobs.lock_due(datetime(2030, 1, 1, tzinfo=UTC), limit=10)
        repos.scheduled_jobs.earliest_due()
    event.remove(database.engine, "before_cursor_execute", capture)
    queries = [q for q in statements if "FROM scheduled_jobs" in q]
    assert len(queries) == 2
    with database.engine.connect() as connection:
        for query in queries:
            if database.is_sqlite:
                plan = " ".join(str(row[-1]) for row in connection.exec_driver_sql(
                    "EXPLAIN QUERY PLAN " + query.replace("?", "0")))
                assert "ix_scheduled_jobs_due" in plan and "SCAN scheduled_jobs" not in plan, plan


# ---------------------------------------------------------------------------------------------------- migrations


def downgrade(engine: Engine, revision: str) -> None:
    config = _alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def test_0003_renames_owner_to_runner_id_and_drops_version_keeping_every_row(database: Database) -> None:
    """Rebuilding a table on SQLite would fire its foreign keys' ON DELETE actions; the migration must not."""
    engine = database.engine
    downgrade(engine, "0002")
    tables = MetaData()
    tables.reflect(engine)
    with engine.begin() as connection:
        connection.execute(insert(tables.tables["jobs"]).values(
            id="j1", slug="a.B", module_name="a", class_name="B", name="B", description="", source="",
            enabled=True, installed=True, approval_required=False, has_sensitive_variables=False, hidden=False,
            variables={}, created_at=_stored(engine), updated_at=_stored(engine)))
        connection.execute(insert(tables.tables["scheduled_jobs"]).values(
            id="s1", name="n", job_id="j1", interval="hourly", start_time=_stored(engine), time_zone="UTC",
            commit=True, approval_required=False, approval_state="not_required", enabled=True, paused=False,
            total_run_count=0, misfire_policy="run_once", version=7, created_at=_stored(engine),
            updated_at=_stored(engine)))
        connection.execute(insert(tables.tables["job_results"]).values(
            id="r1", job_id="j1", scheduled_job_id="s1", scheduled_for=_stored(engine), name="B", status="running",
            dry_run=False, created_at=_stored(engine), owner="host:1:x"))
        connection.execute(insert(tables.tables["job_log_entries"]).values(
            job_result_id="r1", logged_at=_stored(engine), level="info", message="hello"))

    upgrade(engine)
    after = read_tables(engine, "job_results", "job_log_entries", "scheduled_jobs")
    assert [(r["id"], r["scheduled_job_id"], r["runner_id"]) for r in after["job_results"]] == [
        ("r1", "s1", "host:1:x")]
    assert [r["message"] for r in after["job_log_entries"]] == ["hello"]
    assert [(r["id"], r["enabled"]) for r in after["scheduled_jobs"]] == [("s1", True)]
    assert "version" not in after["scheduled_jobs"][0]

    downgrade(engine, "0002")
    with engine.connect() as connection:
        assert connection.execute(text("SELECT id, owner FROM job_results")).all() == [("r1", "host:1:x")]
        assert connection.execute(text("SELECT id, version FROM scheduled_jobs")).all() == [("s1", 0)]
        assert connection.execute(text("SELECT count(*) FROM job_log_entries")).scalar() == 1
    upgrade(engine)
    test_the_migrations_build_exactly_the_models(database)


def test_0005_carries_each_approved_request_over_as_one_approval_and_asks_one_approval_of_existing_rows(
    database: Database,
) -> None:
    engine = database.engine
    downgrade(engine, "0004")
    tables = MetaData()
    tables.reflect(engine)
    common = {"name": "n", "job_id": "j1", "interval": "future", "start_time": _stored(engine), "time_zone": "UTC",
              "commit": True, "approval_required": True, "enabled": True, "paused": False, "total_run_count": 0,
              "misfire_policy": "run_once", "created_at": _stored(engine), "updated_at": _stored(engine)}
    with engine.begin() as connection:
        connection.execute(insert(tables.tables["jobs"]).values(
            id="j1", slug="a.B", module_name="a", class_name="B", name="B", description="", source="",
            enabled=True, installed=True, approval_required=True, has_sensitive_variables=False, hidden=False,
            variables={}, created_at=_stored(engine), updated_at=_stored(engine)))
        connection.execute(insert(tables.tables["scheduled_jobs"]), [
            {**common, "id": "s-approved", "approval_state": "approved", "decided_by_id": "UAPPROVER",
             "decided_at": _stored(engine)},
            {**common, "id": "s-pending", "approval_state": "pending", "decided_by_id": None, "decided_at": None},
            {**common, "id": "s-denied", "approval_state": "denied", "decided_by_id": "UAPPROVER",
             "decided_at": _stored(engine), "enabled": False},
        ])

    upgrade(engine)
    after = read_tables(engine, "scheduled_jobs", "approvals")
    assert sorted((r["id"], r["min_approvers"], r["expires_at"]) for r in after["scheduled_jobs"]) == [
        ("s-approved", 1, None), ("s-denied", 1, None), ("s-pending", 1, None)]
    assert [(r["scheduled_job_id"], r["user_id"], r["comment"]) for r in after["approvals"]] == [
        ("s-approved", "UAPPROVER", None)]
    downgrade(engine, "0004")
    upgrade(engine)
    test_the_migrations_build_exactly_the_models(database)


def _stored(engine: Engine) -> object:
    """NOW as the reflected (plain) column types take it: microseconds on SQLite, a timestamp on PostgreSQL."""
    if engine.dialect.name == "sqlite":
        return (NOW - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
    return NOW


# ------------------------------------------------------------------------------------------- whole-database helpers


def test_read_tables_returns_every_row_as_stored_and_truncate_all_empties_them(database: Database) -> None:
    job = add_job(database)
    with write(database) as repos:
        scheduled = repos.scheduled_jobs.add(new_scheduled_job(job))
        result = repos.job_results.add(new_job_result(job, runner_id="host:1:x"))
    everything = read_tables(database.engine)
    assert set(everything) == set(Base.metadata.tables)
    assert [r["id"] for r in everything["scheduled_jobs"]] == [scheduled.id]
    [row] = everything["job_results"]
    assert (row["id"], row["runner_id"], row["data"], row["created_at"]) == (
        result.id, "host:1:x", {"device": "core-1"}, NOW)
    assert list(read_tables(database.engine, "jobs")) == ["jobs"]
    with pytest.raises(KeyError):
        read_tables(database.engine, "nope")

    truncate_all(database.engine)
    assert all(rows == [] for rows in read_tables(database.engine).values())
    with write(database) as repos:  # the schema stays
        repos.jobs.sync([], now=NOW)


def test_only_an_unreachable_or_locked_database_counts_as_unavailable(tmp_path: Path) -> None:
    db = Database.from_url(f"sqlite:///{tmp_path / 'x.db'}", sqlite_busy_timeout_ms=100)
    try:
        with pytest.raises(OperationalError, match="no such table"), db.read() as session:  # a bug stays a bug
            session.execute(text("SELECT * FROM nowhere"))
        holder = sqlite3.connect(tmp_path / "x.db", isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        with pytest.raises(DatabaseUnavailableError) as raised, db.write() as session:
            session.execute(text("CREATE TABLE t (x INTEGER)"))
        assert raised.value.cause == "OperationalError: database is locked"
        holder.execute("ROLLBACK")
    finally:
        db.dispose()


if POSTGRES_URL:

    def _through(proxy: TcpProxy) -> str:
        return make_url(POSTGRES_URL).set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)

    def test_postgresql_a_pooled_connection_that_died_while_idle_is_replaced_before_it_is_used() -> None:
        parsed = make_url(POSTGRES_URL)
        with TcpProxy(parsed.host or "127.0.0.1", parsed.port or 5432) as proxy:
            db = Database.from_url(_through(proxy), ping_after_idle_s=0.0)
            try:
                with db.read() as session:
                    assert session.scalar(select(1)) == 1
                proxy.cut()  # the pooled connection dies (a restart, a dropped TCP connection) ...
                proxy.restore()  # ... and the database answers again
                with db.read() as session:
                    assert session.scalar(select(1)) == 1
            finally:
                db.dispose()

    def test_postgresql_a_connection_in_steady_use_that_dies_fails_once_and_the_pool_is_renewed() -> None:
        parsed = make_url(POSTGRES_URL)
        with TcpProxy(parsed.host or "127.0.0.1", parsed.port or 5432) as proxy:
            db = Database.from_url(_through(proxy), ping_after_idle_s=3600, pool_size=3)
            try:
                with ExitStack() as stack:  # three connections in use at once, then back in the pool
                    for session in [stack.enter_context(db.read()) for _ in range(3)]:
                        assert session.scalar(select(1)) == 1
                proxy.cut()
                proxy.restore()
                with pytest.raises(DatabaseUnavailableError), db.read() as session:
                    session.scalar(select(1))  # not checked (in steady use): it fails, as "retry shortly"
                for _ in range(3):  # the dead siblings are not handed out again
                    with db.read() as session:
                        assert session.scalar(select(1)) == 1
            finally:
                db.dispose()
