"""The thread of each scheduled job's runs per recipient: the direct message its runs are told under.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "run_threads",
        sa.Column("scheduled_job_id", sa.String(36), nullable=False),
        sa.Column("channel", sa.String(64), nullable=False),
        sa.Column("message_channel", sa.String(64), nullable=False),
        sa.Column("message_ts", sa.String(32), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["scheduled_job_id"], ["scheduled_jobs.id"], ondelete="CASCADE",
                                name="fk_run_threads_scheduled_job_id_scheduled_jobs"),
        sa.PrimaryKeyConstraint("scheduled_job_id", "channel", name="pk_run_threads"),
    )


def downgrade() -> None:
    op.drop_table("run_threads")
