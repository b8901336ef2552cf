"""SQLite: spell the due index's condition the way queries are written, so SQLite uses it.

SQLite uses a partial index only when the query's WHERE terms match the index condition; SQLAlchemy renders the
dispatcher's boolean filters as ``enabled = 1 AND paused = 0``, which ``enabled AND NOT paused`` does not match, so
each dispatch pass scanned the whole table. PostgreSQL's planner already used the index; it is left as it is.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD = "enabled AND NOT paused AND next_run_at IS NOT NULL"
NEW = "enabled = 1 AND paused = 0 AND next_run_at IS NOT NULL"


def _recreate(condition: str) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.drop_index("ix_scheduled_jobs_due", table_name="scheduled_jobs")
    op.create_index("ix_scheduled_jobs_due", "scheduled_jobs", ["next_run_at"], unique=False,
                    sqlite_where=sa.text(condition))


def upgrade() -> None:
    _recreate(NEW)


def downgrade() -> None:
    _recreate(OLD)
