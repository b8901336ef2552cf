"""Storage on real databases: migrations match the models, instants round-trip exactly, SQLite is set up safely."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import event, select, text

from storage.db import Database, pending_migrations
from storage.models import AuditEventRow, Base
from storage.repositories import Repositories


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
