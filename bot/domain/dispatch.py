"""Dispatch decisions: which due times of a scheduled job run now, which are recorded as missed, and what is next.

Pure: must not import Slack, SQLAlchemy or storage. ``now`` is passed in.

Misfire policies (per scheduled job):
- ``run_once`` (default): after downtime, the latest due time that has passed runs once, if it is within the grace
  period; every earlier one, and the latest too when it is older than the grace period, is recorded as ``missed``.
- ``skip``: a due time runs only if it is on time (late by at most ``ON_TIME``); otherwise it is recorded as ``missed``.

At most ``MAX_MISSED_RECORDED`` missed due times are recorded per pass (the newest ones); the count of the others is
reported so the caller can log it. After very long downtime (more than ``MAX_WALK`` due times, e.g. a minutely
crontab stopped for a week) the walk stops there: everything up to ``now`` counts as missed and the next due time is
computed from ``now``. A one-off (``immediately``, ``future``) has no next due time: it finishes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from bot.domain.schedules import Schedule, next_run_at

ON_TIME = timedelta(seconds=60)
MAX_MISSED_RECORDED = 100
MAX_WALK = 10_000


class MisfirePolicy(StrEnum):
    """What happens to due times that passed while nothing dispatched them.

    RUN_ONCE: run the latest one if it is within the grace period; record the rest as missed.
    SKIP: run nothing late; record every late due time as missed.
    """

    RUN_ONCE = "run_once"
    SKIP = "skip"


@dataclass(frozen=True, kw_only=True)
class DispatchPlan:
    """The outcome of one due scheduled job.

    Attributes:
        run_at: the due time to run now (the job result's ``scheduled_for``), or None.
        missed: due times to record as ``missed``, oldest first.
        missed_not_recorded: how many more missed due times there were beyond ``missed``.
        last_slot_at: the latest due time handled (run or missed).
        next_run_at: the next due time after ``now``, or None when the scheduled job is finished.
    """

    run_at: datetime | None
    missed: tuple[datetime, ...]
    missed_not_recorded: int
    last_slot_at: datetime
    next_run_at: datetime | None


def plan_dispatch(
    schedule: Schedule,
    *,
    due_at: datetime,
    now: datetime,
    policy: MisfirePolicy = MisfirePolicy.RUN_ONCE,
    grace: timedelta,
) -> DispatchPlan:
    """Decide what to do with a scheduled job whose ``next_run_at`` (``due_at``) is at or before ``now``.

    The due times are walked from ``due_at`` with ``next_run_at`` (computed from the previous due time, never from
    ``now``, so nothing drifts) up to ``now``; the first one after ``now`` is the next due time.

    Args:
        schedule: the scheduled job's schedule.
        due_at: its stored ``next_run_at``.
        now: the current instant.
        policy: its misfire policy.
        grace: how late a due time may still run under ``run_once``.
    """
    if due_at > now:
        raise ValueError(f"due_at {due_at} is after now {now}")
    passed: list[datetime] = [due_at]
    skipped = 0
    walked = 0
    upcoming = next_run_at(schedule, due_at)
    while upcoming is not None and upcoming <= now:
        walked += 1
        if walked > MAX_WALK:
            # Too many to walk: give up on finding the latest one; the rest all count as missed.
            return DispatchPlan(
                run_at=None,
                missed=tuple(passed),
                missed_not_recorded=skipped + 1,
                last_slot_at=passed[-1],
                next_run_at=next_run_at(schedule, now),
            )
        passed.append(upcoming)
        if len(passed) > MAX_MISSED_RECORDED + 1:
            passed.pop(0)
            skipped += 1
        upcoming = next_run_at(schedule, upcoming)

    latest = passed[-1]
    lateness = now - latest
    allowed = grace if policy is MisfirePolicy.RUN_ONCE else min(grace, ON_TIME)
    run_at = latest if lateness <= allowed else None
    missed = tuple(passed[:-1]) if run_at is not None else tuple(passed)
    return DispatchPlan(
        run_at=run_at,
        missed=missed,
        missed_not_recorded=skipped,
        last_slot_at=latest,
        next_run_at=upcoming,
    )
