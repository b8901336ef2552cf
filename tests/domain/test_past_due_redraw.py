"""When a pending one-off's messages are drawn again as past due: just after its start time, once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.approval_rules import DEFAULT_RULE, PAST_DUE_REDRAW, ApprovalRule, ApprovalTimes, past_due_redraw_at

NOW = datetime(2030, 1, 15, 12, 0, tzinfo=UTC)
START = NOW + timedelta(hours=2)


@pytest.mark.parametrize(("one_off", "start", "expected"), [
    (True, START, START + PAST_DUE_REDRAW),
    (False, START, None),  # recurring and "immediately" requests are never past due
    (True, NOW - timedelta(minutes=1), None),  # already past: drawn past due from the start
])
def test_past_due_redraw_at(one_off: bool, start: datetime, expected: datetime | None) -> None:
    assert past_due_redraw_at(is_one_off_later=one_off, start_time=start, now=NOW) == expected


def test_the_redraw_is_due_when_it_comes_before_the_rules_own_deadlines() -> None:
    rule = ApprovalRule(jobs=("*",), expire_after=timedelta(hours=24), remind_every=timedelta(hours=4))
    times = ApprovalTimes.for_request(rule, NOW, redraw_at=START + PAST_DUE_REDRAW)
    assert times.due_at == START + PAST_DUE_REDRAW
    assert ApprovalTimes.for_request(DEFAULT_RULE, NOW).due_at is None
