"""Crontabs: validating a standard 5-field crontab, and finding its next match in a zone with cron's DST rules.

Pure: the standard library and croniter only. Must not import Slack, SQLAlchemy, ``storage`` or ``handlers``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import NamedTuple
from zoneinfo import ZoneInfo

from croniter import croniter

from bot.domain.errors import InvalidScheduleError
from bot.domain.times import zone_of


class _Field(NamedTuple):
    """One crontab field: its name, its range and the names it accepts (numbered from ``low``)."""

    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()


_FIELDS = (
    _Field("minute", 0, 59),
    _Field("hour", 0, 23),
    _Field("day-of-month", 1, 31),
    _Field("month", 1, 12, ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")),
    _Field("day-of-week", 0, 7, ("sun", "mon", "tue", "wed", "thu", "fri", "sat")),  # 0 and 7 are both Sunday
)
_NUMBER = re.compile(r"[0-9]+")
_EXTENSION = re.compile(r"[#?]|(?<![a-z])[lwh](?![a-z])", re.IGNORECASE)


def _value_of(token: str, field: _Field) -> int | None:
    """Return the number one crontab value stands for (a number or a name), or None if it is not valid here."""
    if _NUMBER.fullmatch(token) and field.low <= int(token) <= field.high:
        return int(token)
    if token.lower() in field.names:
        return field.names.index(token.lower()) + field.low
    return None


def _item_problem(item: str, field: _Field) -> str | None:
    """Return why one comma-separated item of a crontab field is invalid, or None if it is fine."""
    base, slash, step = item.partition("/")
    if slash and not (_NUMBER.fullmatch(step) and int(step) >= 1):
        return f"{field.name} step must be a whole number of 1 or more, got '{item}'"
    if base == "*":
        return None
    bounds = base.split("-")
    values = [_value_of(bound, field) for bound in bounds]
    if len(bounds) > 2 or None in values:
        allowed = f"{field.low}-{field.high}" + (f" or {field.names[0]}-{field.names[-1]}" if field.names else "")
        extension = " (L, W, #, ? and H are not standard cron)" if _EXTENSION.search(base) else ""
        return f"{field.name} must be {allowed}, got '{item}'{extension}"
    if len(values) == 2 and values[0] is not None and values[1] is not None and values[0] > values[1]:
        return f"{field.name} range '{base}' runs backwards"
    if slash and len(bounds) == 1:
        every = f"{field.low}-{field.high}/{step}"
        return f"{field.name} step needs a range or *, e.g. '*/{step}' or '{every}', got '{item}'"
    return None


NEEDS_CRONTAB_MESSAGE = ("A custom schedule needs a crontab: 5 fields, minute hour day-of-month month day-of-week "
                         "(e.g. '0 9 * * 1-5').")
"""Names the rule (Nautobot says "Please enter a valid crontab.", which does not say that one is missing)."""


def validate_crontab(expr: str | None) -> str:
    """Check a standard 5-field crontab and return it normalised to single spaces.

    Accepted: numbers, ``*``, lists, ranges, ``*/n`` and ``a-b/n`` steps, month and weekday names (jan, mon...), and
    day-of-week 0-7 where both 0 and 7 are Sunday (as in cron). Refused: @macros, 6/7 fields, ``L W # ? H``, reversed
    ranges and ``n/step`` (whose meaning differs between cron implementations), and day/month pairs that never occur.

    Args:
        expr: the crontab as typed.

    Returns:
        The expression with its fields joined by single spaces.

    Raises:
        InvalidScheduleError: under ``crontab``, with a message that names the problem.
    """
    if expr is None or not expr.strip():
        raise InvalidScheduleError({"crontab": [NEEDS_CRONTAB_MESSAGE]})
    fields = expr.split()
    normalised = " ".join(fields)
    if normalised.startswith("@"):
        problem = (
            f"Invalid crontab '{normalised}': macros such as @daily are not supported; use 5 fields, e.g. '0 0 * * *'."
        )
        raise InvalidScheduleError({"crontab": [problem]})
    if len(fields) != 5:
        problem = f"A crontab needs exactly 5 fields (minute hour day-of-month month day-of-week); got {len(fields)}."
        raise InvalidScheduleError({"crontab": [problem]})
    for text, field in zip(fields, _FIELDS, strict=True):
        for item in text.split(","):
            reason = _item_problem(item, field)
            if reason:
                raise InvalidScheduleError({"crontab": [f"Invalid crontab '{normalised}': {reason}."]})
    if not croniter.is_valid(normalised, strict=True):
        reason = "that day of the month never occurs in those months" if croniter.is_valid(normalised) else "not valid"
        raise InvalidScheduleError({"crontab": [f"Invalid crontab '{normalised}': {reason}."]})
    return normalised


def _fires_every_hour(expr: str) -> bool:
    """True if the crontab's hour field matches all 24 hours (``*``, ``*/1``, ``0-23``...)."""
    hours = croniter.expand(expr)[0][1]
    return bool(hours == ["*"] or len(set(hours)) == 24)


def _is_second_occurrence(instant: datetime, zone: ZoneInfo) -> bool:
    """True if ``instant``'s wall time in ``zone`` is repeated (fall back) and this is its later occurrence."""
    local = instant.astimezone(zone)
    return local.fold == 1 and local.replace(fold=0).utcoffset() != local.utcoffset()


def cron_next(expr: str, *, time_zone: str, after: datetime) -> datetime:
    """First crontab match strictly after ``after``, read in ``time_zone``, with cron's DST rules.

    croniter already runs a wall time inside a skipped hour at the end of the gap. At a fall-back it returns both
    occurrences of a repeated wall time; a crontab with a fixed hour field keeps only the first (as cron does), while
    one that fires every hour keeps both, since each is a real, different hour.
    """
    zone = zone_of(time_zone)
    matches = croniter(expr, after.astimezone(zone))
    every_hour = _fires_every_hour(expr)
    while True:
        candidate: datetime = matches.get_next(datetime)
        if every_hour or not _is_second_occurrence(candidate, zone):
            return candidate.astimezone(UTC)
