"""Job results keep what ``run()`` returned (``output``) and when they were handed to Celery (``published_at``).

``published_at`` is set by the serving process that publishes a pending job result to the Celery broker (a
compare-and-set, so one replica publishes it); a pending result published long ago is published again by the
sweeper (a broker that lost its messages, a crash between commit and publish). A partial index keeps finding the
results not yet published cheap however many wait in the queue.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("job_results", recreate="never") as batch_op:
        batch_op.add_column(sa.Column("output", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("published_at", storage.types.UTCDateTime(timezone=True), nullable=True))
    op.create_index(
        "ix_job_results_to_publish", "job_results", ["created_at"],
        sqlite_where=sa.text("status = 'pending' AND published_at IS NULL AND runner_id IS NULL"),
        postgresql_where=sa.text("status = 'pending' AND published_at IS NULL AND runner_id IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_job_results_to_publish", table_name="job_results")
    with op.batch_alter_table("job_results", recreate="never") as batch_op:
        batch_op.drop_column("published_at")
        batch_op.drop_column("output")
