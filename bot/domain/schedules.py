"""Schedules: the "when" of a scheduled job, its validation, next-run computation and description.

This module owns the schedule value (`Schedule`), its validation with Nautobot's rules and messages
(`validate_schedule`), the due-time arithmetic (`first_run_at`, `next_run_at`, `first_run_from`, `upcoming_runs`), the
schedule in words (`describe`); the name of a schedule nobody named is ``bot.domain.schedule_names``. Reading typed
times is ``bot.domain.times``; crontab validation and matching is ``bot.domain.crontabs``.

Pure: it imports only the standard library and cron-descriptor (and the two modules above); never Slack (``slack_*``),
SQLAlchemy, ``storage`` or ``handlers``, and it never reads the clock: ``now`` is always passed in. Instants are
timezone-aware UTC datetimes; each schedule carries the IANA time zone in which its wall-clock rules are read.

Time rules (a product promise; each is tested):

- ``immediately`` runs once, at ``now``; ``future`` runs once, at its start instant.
- A naive start time is a wall time in the schedule's zone. One that does not exist (the clocks skip it) is refused;
  a repeated one (the clocks fall back) means its first occurrence.
- ``hourly`` runs at start + k x 3600 s: elapsed time, so every real hour through both DST changes.
- ``daily`` and ``weekly`` run at the start's wall-clock time (and weekday) in the schedule's zone, computed as the
  crontab ``m h * * *`` / ``m h * * dow`` (plus the start's seconds), so they follow the custom rules below.
- ``custom`` is a standard 5-field crontab read in the schedule's zone with croniter; day-of-week 0 and 7 are both
  Sunday, and day-of-month/day-of-week combine with OR, as in cron. Its first run is the first match at or after
  the start; without a start time the start is the first match after ``now`` (Nautobot 2.4).
- Skipped hour (spring forward): a wall time inside the gap runs once, at the first valid instant after the gap
  (daily 02:30 Europe/Berlin runs at 03:00 CEST on 2026-03-29), and at 02:30 again the next day.
- Repeated hour (fall back): a crontab with a fixed hour field (anything that does not match all 24 hours), and so
  every daily and weekly schedule, runs a repeated wall time once, at its first occurrence (daily 02:30 Berlin runs
  at 00:30Z on 2026-10-25, not again at 01:30Z). A crontab whose hour field matches every hour (``0 * * * *``,
  ``*/30 * * * *``) fires in both occurrences of the repeated hour: each is a real, different hour.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import lru_cache

from cron_descriptor import ExpressionDescriptor, FormatError, MissingFieldError, WrongArgumentError

from bot.domain.crontabs import cron_next, validate_crontab
from bot.domain.errors import InvalidScheduleError
from bot.domain.times import require_aware, to_utc, zone_of


class IntervalType(StrEnum):
    """How often a scheduled job runs (Nautobot's ``JobExecutionType``).

    IMMEDIATELY: once, as soon as possible (after approval when one is needed).
    FUTURE: once, at ``start_time``.
    HOURLY: every 3600 s from ``start_time``.
    DAILY: every day at the wall-clock time of ``start_time`` in the schedule's zone.
    WEEKLY: every week on the weekday and at the wall-clock time of ``start_time`` in the schedule's zone.
    CUSTOM: a 5-field crontab read in the schedule's zone.
    """

    IMMEDIATELY = "immediately"
    FUTURE = "future"
    HOURLY = "hourly"
    DAILY = "daily"
    WEEKLY = "weekly"
    CUSTOM = "custom"


INTERVAL_LABELS: dict[IntervalType, str] = {
    IntervalType.IMMEDIATELY: "Once immediately",
    IntervalType.FUTURE: "Once in the future",
    IntervalType.HOURLY: "Recurring hourly",
    IntervalType.DAILY: "Recurring daily",
    IntervalType.WEEKLY: "Recurring weekly",
    IntervalType.CUSTOM: "Recurring custom",
}

RECURRING = frozenset({IntervalType.HOURLY, IntervalType.DAILY, IntervalType.WEEKLY, IntervalType.CUSTOM})


@dataclass(frozen=True, kw_only=True)
class Schedule:
    """A validated schedule.

    Attributes:
        interval: the schedule type.
        start_time: first due instant (aware UTC). For ``custom`` without a start time it is the first crontab match;
            for ``immediately`` it is the request time.
        crontab: the 5-field crontab (``custom`` only), normalised to single spaces.
        time_zone: IANA zone name in which daily/weekly/custom wall-clock rules are read.
        name: the schedule's name (``None`` only for ``immediately`` when none was given).
    """

    interval: IntervalType
    start_time: datetime
    time_zone: str
    crontab: str | None = None
    name: str | None = None

    @property
    def is_recurring(self) -> bool:
        return self.interval in RECURRING


MIN_LEAD: timedelta = timedelta(seconds=15)
"""How far ahead of ``now`` a start time must be (Nautobot's ``earliest_possible_time``)."""

_HOUR = timedelta(hours=1)
_JUST_BEFORE = timedelta(microseconds=1)  # "strictly after start - 1 µs" is "at or after start"


_INTERVALS = frozenset(kind.value for kind in IntervalType)
_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")  # not locale-dependent
_START_TIME_MESSAGE = "Please enter a start time at least 15 seconds from now."
"""Names the rule (Nautobot says "greater than or equal to the current date and time", which hides the 15 s)."""
_TOO_LATE_MESSAGE = "Please enter a date and time before the year 9000."
# Far enough for any schedule; early enough that every next-run computation stays inside datetime's range.
LATEST_START = datetime(9000, 1, 1, tzinfo=UTC)


# --- time zones and parsing -------------------------------------------------------------------------------------


def default_start(interval: IntervalType, now: datetime) -> datetime | None:
    """The start of an hourly, daily or weekly schedule asked for without one: the next whole minute that is at
    least ``MIN_LEAD`` ahead (so "every day" from 09:41:50 starts at 09:43:00). None for other types."""
    if interval not in (IntervalType.HOURLY, IntervalType.DAILY, IntervalType.WEEKLY):
        return None
    earliest = now + MIN_LEAD
    rounded = earliest.replace(second=0, microsecond=0)
    return rounded if rounded == earliest else rounded + timedelta(minutes=1)


# --- next-run computation -----------------------------------------------------------------------------------------


@lru_cache(maxsize=1024)
def _wall_clock_rule(schedule: Schedule) -> tuple[str, timedelta]:
    """The daily/weekly/custom rule as a crontab plus the sub-minute offset of the start (daily/weekly only)."""
    if schedule.interval is IntervalType.CUSTOM:
        if not schedule.crontab:
            raise ValueError("a custom schedule needs a crontab")
        return schedule.crontab, timedelta()
    local = schedule.start_time.astimezone(zone_of(schedule.time_zone))
    day_of_week = str((local.weekday() + 1) % 7) if schedule.interval is IntervalType.WEEKLY else "*"
    offset = timedelta(seconds=local.second, microseconds=local.microsecond)
    return f"{local.minute} {local.hour} * * {day_of_week}", offset


def first_run_at(schedule: Schedule) -> datetime:
    """Return the first due instant of a schedule.

    Args:
        schedule: a validated schedule.

    Returns:
        ``start_time`` for every type except ``custom``, whose first run is the first crontab match at or after it.
    """
    if schedule.interval is IntervalType.CUSTOM:
        expr, _ = _wall_clock_rule(schedule)
        return cron_next(expr, time_zone=schedule.time_zone, after=schedule.start_time - _JUST_BEFORE)
    return schedule.start_time


def next_run_at(schedule: Schedule, after: datetime) -> datetime | None:
    """Return the first due instant strictly after ``after`` (never before the first run).

    Exact and drift-free when ``after`` is the previous slot, and cheap however far ``after`` is from the start.

    Args:
        schedule: a validated schedule.
        after: an aware instant, usually the previous slot.

    Returns:
        The next due instant in UTC, or None once a one-off has had its run.

    Raises:
        ValueError: ``after`` is naive.
    """
    after = require_aware(after, "after")
    if schedule.interval is IntervalType.CUSTOM:  # the first match at or after start_time, or after `after`
        expr, _ = _wall_clock_rule(schedule)
        return cron_next(expr, time_zone=schedule.time_zone, after=max(after, schedule.start_time - _JUST_BEFORE))
    if after < schedule.start_time:
        return schedule.start_time
    if not schedule.is_recurring:
        return None
    if schedule.interval is IntervalType.HOURLY:
        return schedule.start_time + ((after - schedule.start_time) // _HOUR + 1) * _HOUR
    expr, offset = _wall_clock_rule(schedule)
    return cron_next(expr, time_zone=schedule.time_zone, after=after - offset) + offset


def first_run_from(schedule: Schedule, now: datetime) -> datetime | None:
    """Return the first due instant at or after ``now``: where a schedule starts when it is approved or resumed.

    Due times before ``now`` were never approved, or fell while the schedule was paused: they are not run.

    Args:
        schedule: a validated schedule.
        now: the current instant (aware).

    Returns:
        The first due instant at or after ``now``, or None when a one-off's time has passed.
    """
    first = first_run_at(schedule)
    if first >= now:
        return first
    return next_run_at(schedule, now)


def parse_interval(value: str | None) -> IntervalType | None:
    """Read a schedule type as typed or sent; None when none was given.

    Raises:
        InvalidScheduleError: not one of the schedule types.
    """
    if value is None:
        return None
    try:
        return IntervalType(value)
    except ValueError:
        shown = value if len(value) <= 40 else value[:40] + "..."
        choices = ", ".join(kind.value for kind in IntervalType)
        raise InvalidScheduleError({"interval": [f'"{shown}" is not a valid choice ({choices}).']}) from None


def upcoming_runs(schedule: Schedule, *, after: datetime, count: int) -> list[datetime]:
    """Return the next ``count`` due instants strictly after ``after`` (fewer for one-offs).

    Args:
        schedule: a validated schedule.
        after: an aware instant.
        count: how many due instants to return at most.

    Returns:
        Strictly increasing UTC instants.
    """
    runs: list[datetime] = []
    current: datetime | None = after
    while current is not None and len(runs) < count:
        current = next_run_at(schedule, current)
        if current is not None:
            runs.append(current)
    return runs


# --- validation -----------------------------------------------------------------------------------------------------


def crontab_problem(interval: IntervalType, crontab: str | None) -> str | None:
    """Why a crontab cannot go with this schedule type, or None: a crontab belongs to ``custom`` schedules alone.

    A blank crontab counts as none given (forms and Nautobot clients send ``""``). A ``custom`` schedule without one
    is left to :func:`bot.domain.crontabs.validate_crontab`, which says it needs one.
    """
    if interval is IntervalType.CUSTOM or crontab is None or not crontab.strip():
        return None
    return (f'A crontab only applies to custom schedules; this schedule is "{interval.value}". '
            'Leave the crontab out, or make the schedule "custom".')


def check_crontab_applies(interval: IntervalType | None, crontab: str | None) -> None:
    """Refuse a crontab sent with a schedule type other than ``custom`` (also for a run now, which stores no schedule).

    Raises:
        InvalidScheduleError: under ``crontab``, naming the rule.
    """
    problem = crontab_problem(interval or IntervalType.IMMEDIATELY, crontab)
    if problem is not None:
        raise InvalidScheduleError({"crontab": [problem]})


def validate_schedule(
    *,
    interval: str | None,
    name: str | None,
    start_time: datetime | None,
    crontab: str | None,
    time_zone: str,
    now: datetime,
) -> Schedule:
    """Validate a schedule request with Nautobot's rules and messages and return the schedule.

    Args:
        interval: the schedule type (``immediately``, ``future``, ``hourly``, ``daily``, ``weekly``, ``custom``).
        name: the schedule's name; required for every type except ``immediately``.
        start_time: aware, or naive wall-clock time in ``time_zone``; required except for ``immediately`` and
            ``custom``, and at least ``MIN_LEAD`` after ``now``. Ignored for ``immediately``.
        crontab: the 5-field crontab: required for ``custom``, refused with any other type (blank is none).
        time_zone: IANA zone of the schedule.
        now: the current instant (aware).

    Returns:
        The validated schedule. ``immediately`` starts at ``now``; ``custom`` without a start time starts at the
        first crontab match strictly after ``now``.

    Raises:
        InvalidScheduleError: every field error found, keyed by interval, name, start_time, crontab, time_zone. With
            a missing or unknown interval only the interval and time zone are checked.
        ValueError: ``now`` is naive (a programming error, not user input).
    """
    now = require_aware(now, "now")
    errors: dict[str, list[str]] = {}

    def collect(error: InvalidScheduleError) -> None:
        assert isinstance(error.errors, dict)
        for field, messages in error.errors.items():
            errors.setdefault(field, []).extend(messages)

    zone_ok = True
    try:
        zone_of(time_zone)
    except InvalidScheduleError as error:
        collect(error)
        zone_ok = False

    kind: IntervalType | None = None
    if interval is None or not str(interval).strip():
        errors["interval"] = ["This field is required."]
    elif str(interval) not in _INTERVALS:
        shown = str(interval) if len(str(interval)) <= 40 else str(interval)[:40] + "..."
        errors["interval"] = [f'"{shown}" is not a valid choice ({", ".join(kind.value for kind in IntervalType)}).']
    else:
        kind = IntervalType(interval)
    clean_name = name.strip() if name and name.strip() else None
    if kind is None:
        raise InvalidScheduleError(errors)
    misplaced = crontab_problem(kind, crontab)
    if misplaced is not None:
        errors["crontab"] = [misplaced]
    if kind is IntervalType.IMMEDIATELY:
        if errors:
            raise InvalidScheduleError(errors)
        return Schedule(interval=kind, start_time=now, time_zone=time_zone, name=clean_name)

    if clean_name is None:
        errors["name"] = ["Please provide a name for the job schedule."]
    first: datetime | None = None
    if start_time is None:
        if kind is not IntervalType.CUSTOM:
            errors["start_time"] = [_START_TIME_MESSAGE]
    elif start_time.tzinfo is not None and start_time.utcoffset() is not None:
        first = start_time.astimezone(UTC)
    elif zone_ok:
        try:
            first = to_utc(start_time, time_zone)
        except InvalidScheduleError as error:
            collect(error)
    if first is not None and first < now + MIN_LEAD:
        errors["start_time"] = [_START_TIME_MESSAGE]
    elif first is not None and first >= LATEST_START:
        errors["start_time"] = [_TOO_LATE_MESSAGE]
    expr: str | None = None
    if kind is IntervalType.CUSTOM:
        try:
            expr = validate_crontab(crontab)
        except InvalidScheduleError as error:
            collect(error)
    if errors:
        raise InvalidScheduleError(errors)

    if first is None:  # custom without a start time (Nautobot 2.4 #8786): the next crontab match
        assert expr is not None
        first = cron_next(expr, time_zone=time_zone, after=now)
    return Schedule(interval=kind, start_time=first, time_zone=time_zone, crontab=expr, name=clean_name)


# --- description --------------------------------------------------------------------------------------------------


def describe(schedule: Schedule) -> str:
    """Describe a schedule in words, with wall times in its zone (for Slack and the API).

    Args:
        schedule: a validated schedule.

    Returns:
        e.g. "Once, as soon as possible", "Daily at 09:00 (Europe/Berlin)", "Every 15 minutes (Europe/Berlin)".
    """
    if schedule.interval is IntervalType.IMMEDIATELY:
        return "Once, as soon as possible"
    zone = schedule.time_zone
    local = schedule.start_time.astimezone(zone_of(zone))
    if schedule.interval is IntervalType.FUTURE:
        return f"Once, at {local:%Y-%m-%d %H:%M} ({zone})"
    if schedule.interval is IntervalType.HOURLY:
        return f"Every hour at :{local:%M} (from {local:%Y-%m-%d %H:%M} {zone})"
    if schedule.interval is IntervalType.DAILY:
        return f"Daily at {local:%H:%M} ({zone})"
    if schedule.interval is IntervalType.WEEKLY:
        return f"Weekly on {_DAY_NAMES[local.weekday()]} at {local:%H:%M} ({zone})"
    expr, _ = _wall_clock_rule(schedule)
    try:
        text = str(ExpressionDescriptor(expr, use_24hour_time_format=True, verbose=False).get_description())
    except (FormatError, MissingFieldError, WrongArgumentError, ValueError):  # show the crontab itself instead
        text = f"Crontab '{expr}'"
    return f"{text} ({zone})"


def preview_crontab(expr: str, *, time_zone: str, now: datetime) -> tuple[str, datetime]:
    """A crontab as it is typed, in the words the approval message uses, with its next run after ``now``.

    Args:
        expr: the crontab typed so far.
        time_zone: the zone it is read in.
        now: the current instant (aware).

    Returns:
        ``(description, next run)``, e.g. ``("Every 15 minutes (Europe/Berlin)", …)``.

    Raises:
        InvalidScheduleError: under ``crontab``, naming what is wrong with it.
    """
    normalised = validate_crontab(expr)
    schedule = Schedule(interval=IntervalType.CUSTOM, start_time=now, time_zone=time_zone, crontab=normalised)
    return describe(schedule), cron_next(normalised, time_zone=time_zone, after=now)
