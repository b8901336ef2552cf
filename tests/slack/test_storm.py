"""A notification storm: hundreds of runs finishing at once for one person are told in a few digest messages, at
Slack's pace (the fake Slack answers 429 to a second message to a channel within a second), each outcome once and in
order, also with two notifiers sharing the outbox."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from bot.domain.records import JobResultStatus, NewJobResult
from bot.executor.runs import run_finished
from bot.notifier import Notifier
from bot.slack import build_client
from storage.repositories import Repositories
from tests.fake_slack import text_of, wait_until
from tests.slack.conftest import Stack

SHORT_ID = re.compile(r"`([0-9a-f]{8})[0-9a-f-]{0,28}`")


def _finish_runs(stack: Stack, count: int, *, user_id: str = "UALICE") -> list[str]:
    """``count`` runs finishing at the same moment, recorded with their notifications in one transaction (as a group
    commit does); every seventh fails. Returns their short IDs, in the order they finished."""
    now = datetime.now(UTC)
    ids = []
    with stack.core.db.write() as session:
        repos = Repositories(session)
        for i in range(count):
            failed = i % 7 == 3
            result = repos.job_results.add(NewJobResult(
                job_id=None, name=f"backup switch-{i:03d}", user_id=user_id,
                status=JobResultStatus.FAILED if failed else JobResultStatus.COMPLETED,
                created_at=now - timedelta(seconds=1), completed_at=now, error="unreachable" if failed else None))
            ids.append(result.id)
        repos.outbox.add_many([run_finished(job_result_id, user_id) for job_result_id in ids], now=now)
    return [job_result_id[:8] for job_result_id in ids]


def _told(stack: Stack, user_id: str = "UALICE") -> list[str]:
    """The short IDs of the runs told to ``user_id``, in the order the messages show them."""
    return [m.group(1) for call in stack.posted(user_id) for m in SHORT_ID.finditer(text_of(call))]


def test_five_hundred_results_at_once_arrive_in_a_few_digests_in_order_once(stack: Stack) -> None:
    stack.fake.pace(1.0)
    expected = _finish_runs(stack, 500)
    notifier = Notifier(stack.core.db, build_client(stack.settings, retries=False), poll_interval=0.05)
    notifier.start()
    try:
        wait_until(lambda: notifier.pending() == 0, timeout=60)
    finally:
        notifier.stop()
    messages = stack.posted("UALICE")
    assert _told(stack) == expected
    assert len(messages) <= 30
    assert stack.fake.rate_limited <= 3
    first = text_of(messages[0])
    assert "100 runs finished: 86 completed, 14 failed" in first
    assert "backup switch-000" in first and "*Failed* · `" in first


def test_two_notifiers_sharing_the_outbox_tell_each_outcome_once(stack: Stack) -> None:
    stack.fake.pace(1.0)
    expected = _finish_runs(stack, 240)
    notifiers = [Notifier(stack.core.db, build_client(stack.settings, retries=False), poll_interval=0.02)
                 for _ in range(2)]
    for notifier in notifiers:
        notifier.start()
    try:
        wait_until(lambda: notifiers[0].pending() == 0, timeout=60)
    finally:
        for notifier in notifiers:
            notifier.stop()
    assert _told(stack) == expected
    with stack.core.db.read() as session:
        assert {e.status for e in Repositories(session).outbox.list_recent(limit=1000)} == {"sent"}

