"""Instants and time zones: reading a typed date and time, and a wall time in a zone, as an aware UTC instant.

Pure: the standard library only. Must not import Slack, SQLAlchemy, ``storage`` or ``handlers``; it never reads the
clock. A naive wall time that does not exist in its zone (the clocks skip it) is refused; a repeated one (the clocks
fall back) means its first occurrence.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.domain.errors import InvalidScheduleError

_HOUR = timedelta(hours=1)


def zone_of(time_zone: str) -> ZoneInfo:
    """Return the IANA zone, or raise ``InvalidScheduleError`` under ``time_zone``."""
    try:
        return ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError, TypeError, OSError):  # OSError: a folder ("America"), a long name
        raise InvalidScheduleError({"time_zone": [f"Unknown time zone: {time_zone!r}."]}) from None


def require_aware(value: datetime, what: str) -> datetime:
    """Return an aware ``value`` in UTC; a naive one is a programming error (``ValueError``)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be a timezone-aware datetime, got {value!r}")
    return value.astimezone(UTC)


def to_utc(value: datetime, time_zone: str) -> datetime:
    """Return ``value`` as an aware UTC instant.

    Args:
        value: an aware datetime (converted as is) or a naive wall-clock time in ``time_zone``.
        time_zone: IANA zone name used to read a naive ``value``.

    Returns:
        The instant in UTC. A repeated (ambiguous) wall time means its first occurrence.

    Raises:
        InvalidScheduleError: the zone is unknown (``time_zone``), or the wall time does not exist because the
            clocks skip it (``start_time``).
    """
    zone = zone_of(time_zone)
    if value.tzinfo is not None and value.utcoffset() is not None:
        return value.astimezone(UTC)
    first = value.replace(tzinfo=zone, fold=0)
    if first.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != value:
        skipped = value.replace(tzinfo=zone, fold=1).utcoffset() or timedelta()
        gap = skipped - (first.utcoffset() or timedelta())
        how = "the clocks skip that hour" if gap == _HOUR else f"the clocks skip {gap // timedelta(minutes=1)} minutes"
        raise InvalidScheduleError({"start_time": [f"{value:%Y-%m-%d %H:%M} does not exist in {time_zone} ({how})."]})
    return first.astimezone(UTC)


def parse_time(text: str, time_zone: str) -> datetime:
    """Parse a date and time typed by a person (ISO 8601, ``T`` or space, optional offset or ``Z``).

    Args:
        text: e.g. ``2030-01-01 09:00``, ``2030-01-01T09:00:00Z``, ``2030-01-01 09:00+02:00``.
        time_zone: IANA zone in which a time without an offset is read.

    Returns:
        The instant in UTC.

    Raises:
        InvalidScheduleError: unparsable or date-only text, a wall time that does not exist (``start_time``), or an
            unknown zone (``time_zone``).
    """
    stripped = text.strip()
    try:
        # A date alone ("2030-01-01") parses as midnight; a person meant no time, so refuse it.
        if ":" not in stripped and "T" not in stripped.upper():
            raise ValueError(stripped)
        value = datetime.fromisoformat(stripped)
    except ValueError:
        raise InvalidScheduleError(
            {
                "start_time": [
                    f"'{text}' is not a date and time; use ISO 8601, "
                    "e.g. 2030-01-01 09:00 or 2030-01-01T09:00:00+02:00."
                ]
            }
        ) from None
    try:
        return to_utc(value, time_zone)
    except OverflowError:  # e.g. 9999-12-31T23:59-14:00 is past the last instant datetime can hold
        raise InvalidScheduleError(
            {"start_time": [f"'{text[:60]}' is out of range; enter a date and time before the year 9000."]}
        ) from None


def next_full_hour(now: datetime, time_zone: str) -> datetime:
    """The next full hour after ``now`` as a wall-clock time in ``time_zone`` (aware), e.g. what a form offers as a
    start time: 09:00 at 08:12 (and 10:00 at 09:00 sharp, so it is always ahead)."""
    local = require_aware(now, "now").astimezone(zone_of(time_zone))
    return (local.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)).astimezone(zone_of(time_zone))
