"""Dispatch decisions: which due times of a scheduled job run now, which are recorded as missed, and what is next.

Pure: must not import Slack, SQLAlchemy or storage. ``now`` is passed in.

Misfire policies (per scheduled job):
- ``run_once`` (default): after downtime, the latest due time that has passed runs once, if it is within the grace
  period; every earlier one, and the latest too when it is older than the grace period, is recorded as ``missed``.
- ``skip``: a due time runs only if it is on time (late by at most ``ON_TIME``); otherwise it is recorded as ``missed``.

The due times of one gap that were not run are recorded as ONE ``missed`` result (how many, the first and the last),
not one each. After very long downtime (more than ``MAX_WALK`` due times, e.g. a minutely
crontab stopped for a week) the walk stops there: everything up to ``now`` counts as missed and the next due time is
computed from ``now``. A one-off (``immediately``, ``future``) has no next due time: it finishes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from bot.domain.approvals import ApprovalState
from bot.domain.schedules import Schedule, next_run_at

ON_TIME = timedelta(seconds=60)
MAX_WALK = 10_000


class MisfirePolicy(StrEnum):
    """What happens to due times that passed while nothing dispatched them.

    RUN_ONCE: run the latest one if it is within the grace period; record the rest as missed.
    SKIP: run nothing late; record every late due time as missed.
    """

    RUN_ONCE = "run_once"
    SKIP = "skip"


SCHEDULER_DOWN = "the scheduler was not running"
JOB_HELD = "the job was disabled or not installed (its schedules were held)"


@dataclass(frozen=True, kw_only=True)
class MissedRuns:
    """The due times of one gap that were not run, recorded as ONE ``missed`` job result.

    Attributes:
        count: how many due times were missed (a lower bound when ``at_least``).
        first: the first missed due time (the job result's ``scheduled_for``).
        last: the last missed due time known (when ``at_least``, the last one walked to).
        at_least: the walk stopped after ``MAX_WALK`` due times: there were more, up to the dispatch time.
    """

    count: int
    first: datetime
    last: datetime
    at_least: bool = False

    def describe(self, until: datetime | None = None, *, reason: str = SCHEDULER_DOWN) -> str:
        """One line for the job result's error and log, e.g. ``missed 3 due times, from … to …: <reason>``."""
        runs = "due time" if self.count == 1 else "due times"
        if self.count == 1:
            span = f"at {self.first.isoformat()}"
        elif self.at_least:
            span = f"from {self.first.isoformat()} to {(until or self.last).isoformat()}"
        else:
            span = f"from {self.first.isoformat()} to {self.last.isoformat()}"
        many = f"{'at least ' if self.at_least else ''}{self.count:,} {runs}"
        return f"missed {many} {span}: {reason}"


def missed_reason(*, first_missed: datetime, job_changed_at: datetime | None) -> str:
    """Why due times were missed: the job was switched off (disabled, or its code gone) if its record changed during
    the gap (the schedules of such a job are held, not run), else the scheduler was not running."""
    if job_changed_at is not None and job_changed_at >= first_missed:
        return JOB_HELD
    return SCHEDULER_DOWN


@dataclass(frozen=True, kw_only=True)
class DispatchPlan:
    """The outcome of one due scheduled job.

    Attributes:
        run_at: the due time to run now (the job result's ``scheduled_for``), or None.
        missed: the due times not run, recorded as one ``missed`` result; None when none was missed.
        last_slot_at: the latest due time handled (run or missed).
        next_run_at: the next due time after ``now``, or None when the scheduled job is finished.
    """

    run_at: datetime | None
    missed: MissedRuns | None
    last_slot_at: datetime
    next_run_at: datetime | None


def needs_approval_now(*, job_approval_required: bool, approval_state: ApprovalState) -> bool:
    """Whether a due scheduled job must not run but go back to awaiting approval: its job requires approval now
    (switched on after the scheduled job was created without it), and nobody ever approved this scheduled job."""
    return job_approval_required and approval_state is ApprovalState.NOT_REQUIRED


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
    ``now``, so nothing drifts) up to ``now``; the first one after ``now`` is the next due time. Only the first, the
    last and the count of the missed ones are kept: a week of a minutely schedule is one ``missed`` result.

    Args:
        schedule: the scheduled job's schedule.
        due_at: its stored ``next_run_at``.
        now: the current instant.
        policy: its misfire policy.
        grace: how late a due time may still run under ``run_once``.
    """
    if due_at > now:
        raise ValueError(f"due_at {due_at} is after now {now}")
    count = 1  # due times passed, ``due_at`` included
    previous: datetime | None = None
    latest = due_at
    upcoming = next_run_at(schedule, due_at)
    while upcoming is not None and upcoming <= now:
        if count >= MAX_WALK:
            # Too many to walk: give up on finding the latest one; the rest all count as missed.
            return DispatchPlan(
                run_at=None,
                missed=MissedRuns(count=count, first=due_at, last=latest, at_least=True),
                last_slot_at=latest,
                next_run_at=next_run_at(schedule, now),
            )
        count += 1
        previous, latest = latest, upcoming
        upcoming = next_run_at(schedule, upcoming)

    lateness = now - latest
    allowed = grace if policy is MisfirePolicy.RUN_ONCE else min(grace, ON_TIME)
    run_at = latest if lateness <= allowed else None
    missed: MissedRuns | None = None
    if run_at is None:
        missed = MissedRuns(count=count, first=due_at, last=latest)
    elif count > 1:
        assert previous is not None
        missed = MissedRuns(count=count - 1, first=due_at, last=previous)
    return DispatchPlan(run_at=run_at, missed=missed, last_slot_at=latest, next_run_at=upcoming)
