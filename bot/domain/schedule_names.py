"""The name of a schedule whose requester gave none (``default_schedule_name``), and the longest name stored.

Pure, like ``bot.domain.schedules``: the standard library and ``bot.domain.times`` only; ``now`` is passed in.
"""

from __future__ import annotations

from datetime import UTC, datetime

from bot.domain.errors import InvalidScheduleError
from bot.domain.times import zone_of

MAX_NAME_LENGTH = 255
"""The longest schedule name accepted and stored."""


def default_schedule_name(
    job_name: str,
    *,
    start: datetime | None,
    crontab: str | None = None,
    time_zone: str,
    now: datetime,
) -> str:
    """The name of a schedule whose requester gave none: ``"<job name> – <time>"`` (``"Backup – 2030-01-16 09:00"``).

    The time is when it starts, as a wall-clock time in the schedule's zone: the start time; without one, a
    ``custom`` schedule is named by its crontab (``"Backup – 0 9 * * 1-5"``) and anything else by ``now`` (it runs as
    soon as possible). The name is cut to :data:`MAX_NAME_LENGTH` characters.

    Args:
        job_name: the job as the requester named it (its name; in a typed command, what they typed).
        start: the start time, aware or a naive wall-clock time in ``time_zone``; None when none was given.
        crontab: the crontab of a ``custom`` schedule, if any.
        time_zone: the schedule's IANA zone (an unknown one is left to validation; the time is then shown in UTC).
        now: the current instant (aware).
    """
    if start is None and crontab:
        when = crontab
    else:
        instant = now if start is None else start
        if instant.tzinfo is not None and instant.utcoffset() is not None:
            try:
                instant = instant.astimezone(zone_of(time_zone))
            except InvalidScheduleError:
                instant = instant.astimezone(UTC)
        when = f"{instant:%Y-%m-%d %H:%M}"
    return f"{job_name} – {when}"[:MAX_NAME_LENGTH]
