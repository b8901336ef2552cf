"""Approval rules: how many approvals a request needs, and what happens to requests nobody decides.

Owns the ``approval_rules:`` entries of the permissions file once parsed (:class:`ApprovalRule`), which rule applies
to a job (the first whose ``jobs`` glob matches its slug or name; else :data:`DEFAULT_RULE`: one approval, no expiry,
no reminders, as in Nautobot), durations (``90s``, ``30m``, ``4h``, ``2d`` or bare seconds), which approvals count
towards the quorum, when a request expires, who is reminded when, and when escalation starts.

Pure: stdlib only. Must not import Slack, SQLAlchemy, storage or handlers. ``now`` is always passed in.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

__all__ = [
    "DEFAULT_RULE",
    "PAST_DUE_REDRAW",
    "ApprovalRule",
    "ApprovalTimes",
    "Vote",
    "approval_due_at",
    "counting_approvers",
    "escalates_at",
    "expires_at",
    "is_escalated",
    "is_expired",
    "next_reminder_at",
    "parse_duration",
    "past_due_redraw_at",
    "rule_for",
    "to_remind",
]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
DURATION_EXPECTED = "expected a number with a unit s, m, h or d (90s, 30m, 4h, 2d) or a bare number of seconds"


def parse_duration(value: object) -> timedelta:
    """A duration of the permissions file: ``90s``, ``30m``, ``4h``, ``2d``, or a bare number of seconds.

    Raises:
        ValueError: anything else, or a duration that is not positive; the message says what is expected.
    """
    if isinstance(value, bool) or value is None:
        raise ValueError(f"{value!r} is not a duration; {DURATION_EXPECTED}")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and (match := _DURATION.match(value)):
        seconds = float(match.group(1)) * _UNITS[match.group(2)]
    else:
        raise ValueError(f"{value!r} is not a duration; {DURATION_EXPECTED}")
    if seconds <= 0:
        raise ValueError(f"{value!r} is not a duration longer than zero; {DURATION_EXPECTED}")
    return timedelta(seconds=seconds)


@dataclass(frozen=True, kw_only=True)
class ApprovalRule:
    """One ``approval_rules:`` entry (or the defaults).

    Attributes:
        jobs: glob patterns of job slugs or names it applies to (empty: the defaults, which apply to no pattern).
        min_approvers: how many distinct approvers must approve (the requester never counts).
        expire_after: a request still pending this long after it was made becomes ``expired``; None: never.
        remind_every: how often the approvers who have not acted are reminded; None: never.
        escalate_after: how long after the request the ``escalate_to`` groups are asked too; None: never.
        escalate_to: the names of those groups, as in the permissions file.
        escalate_user_ids: their members' Slack user IDs.
        escalate_usergroups: their Slack user-group handles (without ``@``) or pinned IDs (``S…``).
        line: the line of the permissions file the rule starts on (None for the defaults).
    """

    jobs: tuple[str, ...] = ()
    min_approvers: int = 1
    expire_after: timedelta | None = None
    remind_every: timedelta | None = None
    escalate_after: timedelta | None = None
    escalate_to: tuple[str, ...] = ()
    escalate_user_ids: frozenset[str] = frozenset()
    escalate_usergroups: frozenset[str] = frozenset()
    line: int | None = None
    _patterns: tuple[re.Pattern[str], ...] = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_patterns", tuple(re.compile(fnmatch.translate(p)) for p in self.jobs))

    def matches(self, slug: str, name: str) -> bool:
        """Whether a ``jobs`` glob of the rule matches the job's slug or name."""
        return any(p.match(slug) or p.match(name) for p in self._patterns)

    @property
    def escalates(self) -> bool:
        """Whether the rule asks more people after a while."""
        return self.escalate_after is not None and bool(self.escalate_user_ids or self.escalate_usergroups)


DEFAULT_RULE = ApprovalRule()
"""What a job that no rule matches gets: one approval, no expiry, no reminders, no escalation."""


def rule_for(rules: Sequence[ApprovalRule], *, slug: str, name: str) -> ApprovalRule:
    """The rule that applies to a job: the first whose ``jobs`` glob matches its slug or name, else the defaults."""
    for rule in rules:
        if rule.matches(slug, name):
            return rule
    return DEFAULT_RULE


@dataclass(frozen=True)
class Vote:
    """One approval of a request: who, when, their optional comment, and the job's code version they approved."""

    user_id: str
    at: datetime
    comment: str | None = None
    job_version: str | None = None


def expires_at(rule: ApprovalRule, created_at: datetime) -> datetime | None:
    """When a request made at ``created_at`` expires if still pending; None when it never does."""
    return created_at + rule.expire_after if rule.expire_after is not None else None


def is_expired(expiry: datetime | None, now: datetime) -> bool:
    """Whether a pending request with that expiry time has expired at ``now`` (the expiry instant included)."""
    return expiry is not None and now >= expiry


def escalates_at(rule: ApprovalRule, created_at: datetime) -> datetime | None:
    """When the ``escalate_to`` groups of a request made at ``created_at`` are asked too; None when never."""
    if not rule.escalates:
        return None
    assert rule.escalate_after is not None
    return created_at + rule.escalate_after


def is_escalated(rule: ApprovalRule, created_at: datetime, now: datetime) -> bool:
    """Whether escalation has started at ``now`` (from then on the ``escalate_to`` groups count as approvers)."""
    at = escalates_at(rule, created_at)
    return at is not None and now >= at


def next_reminder_at(rule: ApprovalRule, created_at: datetime, now: datetime) -> datetime | None:
    """The first reminder instant after ``now``: ``created_at + k * remind_every`` for the least ``k >= 1``.

    None when the rule does not remind.
    """
    if rule.remind_every is None:
        return None
    step = rule.remind_every
    if now < created_at + step:
        return created_at + step
    k = (now - created_at) // step + 1
    return created_at + k * step


def counting_approvers(votes: Iterable[Vote], *, requester_id: str | None, expiry: datetime | None) -> tuple[str, ...]:
    """The approvers whose approvals count, in the order they approved: distinct, never the requester, and only
    approvals made before the request expired. (Whether each held ``approve_job`` is checked when it is made.)"""
    seen: list[str] = []
    for vote in sorted(votes, key=lambda v: v.at):
        if vote.user_id in seen or (requester_id is not None and vote.user_id == requester_id):
            continue
        if expiry is not None and vote.at >= expiry:
            continue
        seen.append(vote.user_id)
    return tuple(seen)


@dataclass(frozen=True, kw_only=True)
class ApprovalTimes:
    """What a new pending request records from its rule: its quorum, and when it expires, is first reminded about,
    and escalates (None: never); and, for a one-off in the future, when its messages are drawn again as past due.

    ``due_at`` is the earliest of them: when the approval loop next has something to do for it.
    """

    min_approvers: int = 1
    expires_at: datetime | None = None
    remind_at: datetime | None = None
    escalate_at: datetime | None = None
    redraw_at: datetime | None = None

    @property
    def due_at(self) -> datetime | None:
        return approval_due_at(self.expires_at, self.remind_at, self.escalate_at, self.redraw_at)

    @classmethod
    def for_request(cls, rule: ApprovalRule, created_at: datetime, *,
                    redraw_at: datetime | None = None) -> ApprovalTimes:
        """The times of a request made at ``created_at`` under ``rule``.

        Args:
            redraw_at: when its messages must be drawn again (:func:`past_due_redraw_at`), or None.
        """
        return cls(min_approvers=rule.min_approvers, expires_at=expires_at(rule, created_at),
                   remind_at=next_reminder_at(rule, created_at, created_at), escalate_at=escalates_at(rule, created_at),
                   redraw_at=redraw_at)


PAST_DUE_REDRAW = timedelta(seconds=1)
"""How long after a pending one-off's start time its messages are drawn again: then it is past due for certain."""


def past_due_redraw_at(*, is_one_off_later: bool, start_time: datetime, now: datetime) -> datetime | None:
    """When a pending request's messages are drawn again because its start time passed (so that they warn it is past
    due, and Approve asks for confirmation, before anyone clicks); None when that never happens: it is not a one-off
    in the future (``future``), or its start time has passed already.

    Args:
        is_one_off_later: the request is a ``future`` one-off.
        start_time: its start time.
        now: the current instant.
    """
    if not is_one_off_later or start_time + PAST_DUE_REDRAW <= now:
        return None
    return start_time + PAST_DUE_REDRAW


def approval_due_at(*instants: datetime | None) -> datetime | None:
    """The earliest of the given due times, ignoring None; None when there is none."""
    present = [i for i in instants if i is not None]
    return min(present) if present else None


def to_remind(approvers: Iterable[str], votes: Iterable[Vote], *, requester_id: str | None) -> tuple[str, ...]:
    """The approvers to remind: those who have not approved yet, never the requester; sorted, without repeats."""
    acted = {v.user_id for v in votes}
    return tuple(sorted({a for a in approvers if a not in acted and a != requester_id}))
