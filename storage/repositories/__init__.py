"""Repositories: the only SQL in jobgate. Typed inputs in, domain records out; rows never leave storage.

One module per aggregate: ``jobs``, ``scheduled_jobs`` (with its mixins ``dispatch`` and ``approval_deadlines``),
``job_results`` (with ``job_claims``), ``tokens``, ``outbox``, ``run_threads``, ``audit`` (``_records`` maps rows to
records and new records to rows). Each repository works inside a session that ``storage.db.Database`` opened; the
caller owns the transaction. State changes that can race (decisions, cancel, pause, claims, deliveries) are
conditional updates that report whether they won: never read-then-write. Must not import Slack or handlers.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from storage.repositories.audit import AuditRepository
from storage.repositories.dispatch import WAKEUP_CHANNEL, Advance, DueScheduledJob
from storage.repositories.job_claims import ClaimedJobResult, ToPublish
from storage.repositories.job_results import JobResultRepository
from storage.repositories.jobs import JobDefinition, JobRepository, SyncReport
from storage.repositories.outbox import OutboxRepository
from storage.repositories.run_threads import RunThreadRepository
from storage.repositories.scheduled_jobs import ScheduledJobRepository
from storage.repositories.tokens import TokenRepository

__all__ = [
    "WAKEUP_CHANNEL",
    "Advance",
    "AuditRepository",
    "ClaimedJobResult",
    "DueScheduledJob",
    "JobDefinition",
    "JobRepository",
    "JobResultRepository",
    "OutboxRepository",
    "Repositories",
    "RunThreadRepository",
    "ScheduledJobRepository",
    "SyncReport",
    "ToPublish",
    "TokenRepository",
]


class Repositories:
    """Every repository on one session: what a use case uses inside its transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.jobs = JobRepository(session)
        self.scheduled_jobs = ScheduledJobRepository(session)
        self.job_results = JobResultRepository(session)
        self.tokens = TokenRepository(session)
        self.outbox = OutboxRepository(session)
        self.audit = AuditRepository(session)
        self.run_threads = RunThreadRepository(session)
