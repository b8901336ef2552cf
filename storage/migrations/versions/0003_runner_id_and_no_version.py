"""Job results name the runner holding them ``runner_id`` (was ``owner``); scheduled jobs lose ``version``.

``owner`` was the runner process holding a job result's claim, easily mistaken for the requester (``owner_id``
elsewhere); ``version`` was written on every change and never read.

On SQLite the columns are renamed and dropped in place (``ALTER TABLE``, SQLite 3.35 or later, which jobgate
already needs for ``RETURNING``): rebuilding the tables would fire their foreign keys' ``ON DELETE`` actions (the log
entries of every job result, the scheduled job of every result) while the old table is dropped.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("job_results", recreate="never") as batch_op:
        batch_op.alter_column("owner", new_column_name="runner_id", existing_type=sa.String(length=64),
                              existing_nullable=True)
    with op.batch_alter_table("scheduled_jobs", recreate="never") as batch_op:
        batch_op.drop_column("version")


def downgrade() -> None:
    with op.batch_alter_table("scheduled_jobs", recreate="never") as batch_op:
        batch_op.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("job_results", recreate="never") as batch_op:
        batch_op.alter_column("runner_id", new_column_name="owner", existing_type=sa.String(length=64),
                              existing_nullable=True)
