"""Approval rules: one row per approval, a quorum per request, expiry, reminders and escalation.

``approvals`` holds each approval of a request (who, when, their comment, and the job's code version they saw), at
most one per approver. A scheduled job gains ``min_approvers`` (existing rows: 1), ``expires_at``, the due times of
its next reminder (``remind_at``) and of its escalation (``escalate_at``), and ``approval_due_at``: the earliest of
the three while the request is pending, NULL otherwise. The approval loop's only query is by ``approval_due_at``, so
a partial index keeps it cheap however many requests were ever made. The new state ``expired`` needs no schema change
(``approval_state`` and ``end_reason`` are strings).

Existing approved requests are carried over: their approver becomes their one approval.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    instant = storage.types.UTCDateTime(timezone=True)
    with op.batch_alter_table("scheduled_jobs", recreate="never") as batch_op:
        batch_op.add_column(sa.Column("min_approvers", sa.Integer(), nullable=False, server_default="1"))
        batch_op.add_column(sa.Column("expires_at", instant, nullable=True))
        batch_op.add_column(sa.Column("remind_at", instant, nullable=True))
        batch_op.add_column(sa.Column("escalate_at", instant, nullable=True))
        batch_op.add_column(sa.Column("approval_due_at", instant, nullable=True))
    op.create_index(
        "ix_scheduled_jobs_approval_due", "scheduled_jobs", ["approval_due_at"],
        sqlite_where=sa.text("approval_due_at IS NOT NULL"),
        postgresql_where=sa.text("approval_due_at IS NOT NULL"),
    )
    op.create_table(
        "approvals",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("scheduled_job_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("approved_at", instant, nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("job_version", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["scheduled_job_id"], ["scheduled_jobs.id"],
                                name=op.f("fk_approvals_scheduled_job_id_scheduled_jobs"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approvals")),
        sa.UniqueConstraint("scheduled_job_id", "user_id", name="uq_approvals_approver"),
    )
    op.execute(
        "INSERT INTO approvals (scheduled_job_id, user_id, approved_at) "
        "SELECT id, decided_by_id, decided_at FROM scheduled_jobs "
        "WHERE approval_state = 'approved' AND decided_by_id IS NOT NULL AND decided_at IS NOT NULL"
    )


def downgrade() -> None:
    op.drop_table("approvals")
    op.drop_index("ix_scheduled_jobs_approval_due", table_name="scheduled_jobs")
    with op.batch_alter_table("scheduled_jobs", recreate="never") as batch_op:
        batch_op.drop_column("approval_due_at")
        batch_op.drop_column("escalate_at")
        batch_op.drop_column("remind_at")
        batch_op.drop_column("expires_at")
        batch_op.drop_column("min_approvers")
