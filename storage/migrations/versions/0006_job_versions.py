"""Approvals are pinned to the reviewed code: a job's code version (sha256 of its module's source, hex), the version
a request was made for and the one it was approved for, when its approvers were last asked anew, and the version a
run was approved for.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("jobs", recreate="never") as batch_op:
        batch_op.add_column(sa.Column("version", sa.String(64), nullable=False, server_default=""))
    with op.batch_alter_table("scheduled_jobs", recreate="never") as batch_op:
        batch_op.add_column(sa.Column("job_version", sa.String(64), nullable=True))
        batch_op.add_column(sa.Column("approved_job_version", sa.String(64), nullable=True))
        batch_op.add_column(sa.Column("approval_asked_at", storage.types.UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table("job_results", recreate="never") as batch_op:
        batch_op.add_column(sa.Column("job_version", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("job_results", recreate="never") as batch_op:
        batch_op.drop_column("job_version")
    with op.batch_alter_table("scheduled_jobs", recreate="never") as batch_op:
        batch_op.drop_column("approval_asked_at")
        batch_op.drop_column("approved_job_version")
        batch_op.drop_column("job_version")
    with op.batch_alter_table("jobs", recreate="never") as batch_op:
        batch_op.drop_column("version")
