"""Digests: when 5 or more finished runs wait for one channel (``bot.domain.outbox.fold_backlog``), the waiting ones
go out as one message of up to 100 runs (no log threads); they are claimed together and marked sent in the
transaction that records the digest (``bot.notifier.delivery``).

This is wiring: it may import anything.
"""

from __future__ import annotations

from datetime import datetime

from bot.domain.outbox import DIGEST_MAX, FOLD_FROM, OutboxEntry, fold_backlog, foldable
from bot.domain.records import JobResultRecord
from storage.db import Database
from storage.repositories import Repositories


def folded_backlog(db: Database, head: OutboxEntry, now: datetime) -> list[tuple[OutboxEntry, JobResultRecord]]:
    """The entries waiting for the head's channel to fold into one digest now, with their runs; empty when the
    channel has no backlog."""
    if not foldable(head, announces_in_thread=False):
        return []
    with db.read() as session:
        repos = Repositories(session)
        waiting = repos.outbox.waiting(head.channel, now=now, limit=DIGEST_MAX + 1)
        if len(waiting) < FOLD_FROM:
            return []
        runs: dict[int, JobResultRecord] = {}
        marked: list[tuple[OutboxEntry, bool]] = []
        for entry in waiting:
            result = None
            if foldable(entry, announces_in_thread=False):
                result = repos.job_results.get(str(entry.payload.get("job_result_id", "")), with_log=False)
            in_thread = result is not None and result.dry_run and result.scheduled_job_id is not None
            can_fold = result is not None and foldable(entry, announces_in_thread=in_thread)
            if result is not None and can_fold:
                runs[entry.id] = result
            marked.append((entry, can_fold))
    return [(entry, runs[entry.id]) for entry in fold_backlog(marked)]
