"""Run threads: per scheduled job and recipient, the direct message under which its runs are told. Must not import
Slack or handlers.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from storage.models import RunThreadRow


class RunThreadRepository:
    """The run_threads table."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, scheduled_job_id: str, channel: str) -> tuple[str, str] | None:
        """``(message channel, message ts)`` of the thread of a scheduled job's runs told to ``channel``, if any."""
        row = self.session.execute(
            select(RunThreadRow.message_channel, RunThreadRow.message_ts)
            .where(RunThreadRow.scheduled_job_id == scheduled_job_id, RunThreadRow.channel == channel)
        ).first()
        return None if row is None else (row[0], row[1])

    def add(self, scheduled_job_id: str, channel: str, *, message_channel: str, message_ts: str,
            now: datetime) -> None:
        """Record the message a scheduled job's runs are told under; a thread already recorded is kept."""
        dialect = self.session.get_bind().dialect.name
        insert_ = pg_insert if dialect == "postgresql" else sqlite_insert
        self.session.execute(insert_(RunThreadRow).on_conflict_do_nothing(), {
            "scheduled_job_id": scheduled_job_id, "channel": channel, "message_channel": message_channel,
            "message_ts": message_ts, "created_at": now})

    def replace(self, scheduled_job_id: str, channel: str, *, message_channel: str, message_ts: str,
                now: datetime) -> None:
        """Record a new message for a scheduled job's runs to be told under (the old one is gone)."""
        self.session.execute(delete(RunThreadRow).where(RunThreadRow.scheduled_job_id == scheduled_job_id,
                                                        RunThreadRow.channel == channel))
        self.add(scheduled_job_id, channel, message_channel=message_channel, message_ts=message_ts, now=now)
