"""Which waiting notifications are folded into one digest: only a backlog of run outcomes, in order, 100 at most."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.domain.outbox import DIGEST_MAX, OutboxEntry, OutboxKind, OutboxStatus, fold_backlog, foldable

NOW = datetime(2030, 1, 15, 12, 0, tzinfo=UTC)


def entry(entry_id: int, kind: OutboxKind = OutboxKind.RUN_FINISHED, *, message_ts: str | None = None,
          payload: dict[str, Any] | None = None) -> OutboxEntry:
    return OutboxEntry(id=entry_id, created_at=NOW, channel="UALICE", kind=kind,
                       payload=payload or {"job_result_id": f"r{entry_id}"}, ref_type=None, ref_id=None,
                       status=OutboxStatus.PENDING, attempts=0, next_attempt_at=NOW, sent_at=None,
                       message_channel=None, message_ts=message_ts, error=None)


def marked(*entries: OutboxEntry) -> list[tuple[OutboxEntry, bool]]:
    return [(e, foldable(e, announces_in_thread=False)) for e in entries]


def test_four_outcomes_waiting_are_not_a_backlog() -> None:
    assert fold_backlog(marked(*(entry(i) for i in range(1, 5)))) == []


def test_a_backlog_folds_up_to_the_first_notification_that_needs_its_own_message() -> None:
    waiting = marked(*(entry(i) for i in range(1, 6)), entry(6, OutboxKind.APPROVAL_REQUEST), entry(7), entry(8))
    assert [e.id for e in fold_backlog(waiting)] == [1, 2, 3, 4, 5]


def test_approval_requests_half_sent_results_and_thread_replies_never_fold() -> None:
    assert not foldable(entry(1, OutboxKind.APPROVAL_REQUEST), announces_in_thread=False)
    assert not foldable(entry(2, message_ts="1.2"), announces_in_thread=False)
    assert not foldable(entry(3, payload={"job_result_id": "r", "thread_ts": "1.2"}), announces_in_thread=False)
    assert not foldable(entry(4), announces_in_thread=True)


def test_a_digest_holds_at_most_a_hundred_outcomes() -> None:
    folded = fold_backlog(marked(*(entry(i) for i in range(1, 251))))
    assert len(folded) == DIGEST_MAX and folded[0].id == 1 and folded[-1].id == DIGEST_MAX
