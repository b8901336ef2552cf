"""Tests for bot.domain.schedules: validation (Nautobot's rules and messages), due times across DST, descriptions.

Pure: every test passes ``now`` explicitly; no clock, no sleeping, no mocks. Expected instants are written as
``local time+offset`` so that the wall clock and the UTC instant are both visible.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.crontabs import NEEDS_CRONTAB_MESSAGE as NEEDS_CRONTAB
from bot.domain.crontabs import validate_crontab
from bot.domain.errors import InvalidScheduleError
from bot.domain.schedule_names import MAX_NAME_LENGTH, default_schedule_name
from bot.domain.schedules import (
    MIN_LEAD,
    IntervalType,
    Schedule,
    check_crontab_applies,
    default_start,
    describe,
    first_run_at,
    next_run_at,
    upcoming_runs,
    validate_schedule,
)
from bot.domain.times import parse_time, to_utc

BERLIN = "Europe/Berlin"
NEW_YORK = "America/New_York"
START_MESSAGE = "Please enter a start time at least 15 seconds from now."
NAME_MESSAGE = "Please provide a name for the job schedule."
NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


def at(text: str) -> datetime:
    """An aware UTC instant from ISO text with an offset, e.g. ``2026-03-29T03:00+02:00``."""
    value = datetime.fromisoformat(text)
    assert value.tzinfo is not None
    return value.astimezone(UTC)


def schedule(interval: str, start: str, *, time_zone: str = BERLIN, crontab: str | None = None) -> Schedule:
    return Schedule(
        interval=IntervalType(interval), start_time=at(start), time_zone=time_zone, crontab=crontab, name="nightly"
    )


def errors_of(excinfo: pytest.ExceptionInfo[InvalidScheduleError]) -> dict[str, list[str]]:
    errors = excinfo.value.errors
    assert isinstance(errors, dict)
    return errors


def validate(**overrides: object) -> Schedule:
    arguments: dict[str, object] = {
        "interval": "future",
        "name": "nightly",
        "start_time": NOW + timedelta(hours=1),
        "crontab": None,
        "time_zone": BERLIN,
        "now": NOW,
    }
    arguments.update(overrides)
    return validate_schedule(**arguments)  # type: ignore[arg-type]


def cron_for(interval: str) -> str | None:
    """A crontab where one belongs (custom), none elsewhere."""
    return "* * * * *" if interval == "custom" else None


def refused(**overrides: object) -> dict[str, list[str]]:
    with pytest.raises(InvalidScheduleError) as excinfo:
        validate(**overrides)
    return errors_of(excinfo)


# --- to_utc / parse_time -------------------------------------------------------------------------------------------


def test_min_lead_is_fifteen_seconds() -> None:
    assert timedelta(seconds=15) == MIN_LEAD


@pytest.mark.parametrize(
    ("value", "time_zone", "expected"),
    [
        (datetime(2030, 1, 1, 9, 0), BERLIN, "2030-01-01T08:00+00:00"),
        (datetime(2030, 7, 1, 9, 0), BERLIN, "2030-07-01T07:00+00:00"),
        (datetime(2030, 1, 1, 9, 0), NEW_YORK, "2030-01-01T14:00+00:00"),
        (datetime(2030, 1, 1, 9, 0), "UTC", "2030-01-01T09:00+00:00"),
        (datetime(2030, 1, 1, 9, 0, tzinfo=ZoneInfo(NEW_YORK)), BERLIN, "2030-01-01T14:00+00:00"),
        (at("2030-01-01T09:00+02:00"), NEW_YORK, "2030-01-01T07:00+00:00"),
        # Ambiguous (repeated) wall times mean their first occurrence.
        (datetime(2026, 10, 25, 2, 30), BERLIN, "2026-10-25T02:30+02:00"),
        (datetime(2026, 11, 1, 1, 30), NEW_YORK, "2026-11-01T01:30-04:00"),
        (datetime(2026, 4, 5, 1, 45), "Australia/Lord_Howe", "2026-04-05T01:45+11:00"),
    ],
)
def test_to_utc(value: datetime, time_zone: str, expected: str) -> None:
    result = to_utc(value, time_zone)
    assert result == at(expected)
    assert result.tzinfo is UTC


@pytest.mark.parametrize(
    ("value", "time_zone", "message"),
    [
        (
            datetime(2026, 3, 29, 2, 30),
            BERLIN,
            "2026-03-29 02:30 does not exist in Europe/Berlin (the clocks skip that hour).",
        ),
        (
            datetime(2026, 3, 8, 2, 0),
            NEW_YORK,
            "2026-03-08 02:00 does not exist in America/New_York (the clocks skip that hour).",
        ),
        (
            datetime(2026, 10, 4, 2, 15),
            "Australia/Lord_Howe",
            "2026-10-04 02:15 does not exist in Australia/Lord_Howe (the clocks skip 30 minutes).",
        ),
    ],
)
def test_to_utc_refuses_a_wall_time_the_clocks_skip(value: datetime, time_zone: str, message: str) -> None:
    with pytest.raises(InvalidScheduleError) as excinfo:
        to_utc(value, time_zone)
    assert errors_of(excinfo) == {"start_time": [message]}


@pytest.mark.parametrize("time_zone", ["Mars/Olympus_Mons", "", "../../etc/passwd", "Europe/berlin "])
def test_to_utc_refuses_an_unknown_zone(time_zone: str) -> None:
    with pytest.raises(InvalidScheduleError) as excinfo:
        to_utc(datetime(2030, 1, 1, 9, 0), time_zone)
    assert errors_of(excinfo) == {"time_zone": [f"Unknown time zone: {time_zone!r}."]}


@pytest.mark.parametrize(
    ("text", "time_zone", "expected"),
    [
        ("2030-01-01T01:00:00Z", BERLIN, "2030-01-01T01:00+00:00"),
        ("2030-01-01 01:00+02:00", BERLIN, "2029-12-31T23:00+00:00"),
        ("2030-01-01 01:00", BERLIN, "2030-01-01T01:00+01:00"),
        ("2030-01-01T01:00", NEW_YORK, "2030-01-01T01:00-05:00"),
        ("  2030-07-01 09:30:15 ", BERLIN, "2030-07-01T09:30:15+02:00"),
        ("2030-01-01T09:00:00+02:00", NEW_YORK, "2030-01-01T07:00+00:00"),
        ("2026-10-25 02:30", BERLIN, "2026-10-25T02:30+02:00"),
    ],
)
def test_parse_time(text: str, time_zone: str, expected: str) -> None:
    result = parse_time(text, time_zone)
    assert result == at(expected)
    assert result.tzinfo is UTC


@pytest.mark.parametrize("text", ["tomorrow", "", "2030-13-01 09:00", "2030-01-01", "09:00", "2030-01-01 25:00"])
def test_parse_time_refuses_what_is_not_a_date_and_time(text: str) -> None:
    with pytest.raises(InvalidScheduleError) as excinfo:
        parse_time(text, BERLIN)
    assert errors_of(excinfo) == {
        "start_time": [
            f"'{text}' is not a date and time; use ISO 8601, e.g. 2030-01-01 09:00 or 2030-01-01T09:00:00+02:00."
        ]
    }


def test_parse_time_refuses_a_skipped_wall_time() -> None:
    with pytest.raises(InvalidScheduleError) as excinfo:
        parse_time("2026-03-29 02:30", BERLIN)
    assert errors_of(excinfo) == {
        "start_time": ["2026-03-29 02:30 does not exist in Europe/Berlin (the clocks skip that hour)."]
    }


# --- validate_crontab --------------------------------------------------------------------------------------------

FIVE_FIELDS = "A crontab needs exactly 5 fields (minute hour day-of-month month day-of-week); got {}."


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        # Nautobot's cases.
        (None, NEEDS_CRONTAB),
        ("", NEEDS_CRONTAB),
        ("   ", NEEDS_CRONTAB),
        ("not_enough_values_to_unpack", FIVE_FIELDS.format(1)),
        ("one too many values to unpack", FIVE_FIELDS.format(6)),
        ("-1 * * * *", "Invalid crontab '-1 * * * *': minute must be 0-59, got '-1'."),
        ("invalid literal * * *", "Invalid crontab 'invalid literal * * *': minute must be 0-59, got 'invalid'."),
        ("60 * * * *", "Invalid crontab '60 * * * *': minute must be 0-59, got '60'."),
        ("* 24 * * *", "Invalid crontab '* 24 * * *': hour must be 0-23, got '24'."),
        ("*/0 * * * *", "Invalid crontab '*/0 * * * *': minute step must be a whole number of 1 or more, got '*/0'."),
        (
            "0 9 L * *",
            "Invalid crontab '0 9 L * *': day-of-month must be 1-31, got 'L' (L, W, #, ? and H are not standard cron).",
        ),
        (
            "@daily",
            "Invalid crontab '@daily': macros such as @daily are not supported; use 5 fields, e.g. '0 0 * * *'.",
        ),
        # Extensions croniter accepts but cron does not.
        ("* * * * * *", FIVE_FIELDS.format(6)),
        ("0 0 1 1 * 2030", FIVE_FIELDS.format(6)),
        ("0 0 1 1 * 0 2030", FIVE_FIELDS.format(7)),
        ("* * * *", FIVE_FIELDS.format(4)),
        (
            "@reboot",
            "Invalid crontab '@reboot': macros such as @daily are not supported; use 5 fields, e.g. '0 0 * * *'.",
        ),
        (
            "0 9 1W * *",
            "Invalid crontab '0 9 1W * *': day-of-month must be 1-31, got '1W' "
            "(L, W, #, ? and H are not standard cron).",
        ),
        (
            "0 9 * * 1#2",
            "Invalid crontab '0 9 * * 1#2': day-of-week must be 0-7 or sun-sat, got '1#2' "
            "(L, W, #, ? and H are not standard cron).",
        ),
        (
            "0 9 ? * *",
            "Invalid crontab '0 9 ? * *': day-of-month must be 1-31, got '?' (L, W, #, ? and H are not standard cron).",
        ),
        (
            "H * * * *",
            "Invalid crontab 'H * * * *': minute must be 0-59, got 'H' (L, W, #, ? and H are not standard cron).",
        ),
        ("0 0 * * 8", "Invalid crontab '0 0 * * 8': day-of-week must be 0-7 or sun-sat, got '8'."),
        ("0 0 0 * *", "Invalid crontab '0 0 0 * *': day-of-month must be 1-31, got '0'."),
        ("0 0 * 13 *", "Invalid crontab '0 0 * 13 *': month must be 1-12 or jan-dec, got '13'."),
        ("0 0 * * funday", "Invalid crontab '0 0 * * funday': day-of-week must be 0-7 or sun-sat, got 'funday'."),
        ("1,,2 * * * *", "Invalid crontab '1,,2 * * * *': minute must be 0-59, got ''."),
        ("5-1 * * * *", "Invalid crontab '5-1 * * * *': minute range '5-1' runs backwards."),
        ("1-2-3 * * * *", "Invalid crontab '1-2-3 * * * *': minute must be 0-59, got '1-2-3'."),
        (
            "59/15 * * * *",
            "Invalid crontab '59/15 * * * *': minute step needs a range or *, e.g. '*/15' or '0-59/15', got '59/15'.",
        ),
        ("*/x * * * *", "Invalid crontab '*/x * * * *': minute step must be a whole number of 1 or more, got '*/x'."),
        # Impossible day/month pairs (croniter strict mode).
        ("0 0 31 2 *", "Invalid crontab '0 0 31 2 *': that day of the month never occurs in those months."),
        ("0 0 30,31 2 *", "Invalid crontab '0 0 30,31 2 *': that day of the month never occurs in those months."),
    ],
)
def test_validate_crontab_refuses(expr: str | None, message: str) -> None:
    with pytest.raises(InvalidScheduleError) as excinfo:
        validate_crontab(expr)
    assert errors_of(excinfo) == {"crontab": [message]}


@pytest.mark.parametrize(
    ("expr", "normalised"),
    [
        ("*/15 9,17 3 * 1-5", "*/15 9,17 3 * 1-5"),
        ("0 9 * * mon", "0 9 * * mon"),
        ("0 0 * * 7", "0 0 * * 7"),  # day-of-week 7 is Sunday, as in cron
        ("0 0 * * 0-7", "0 0 * * 0-7"),
        ("* * * * *", "* * * * *"),
        ("0-59/15 * * * *", "0-59/15 * * * *"),
        ("0 9 * * MON-fri", "0 9 * * MON-fri"),
        ("0 0 1 jan-mar *", "0 0 1 jan-mar *"),
        ("0 0 29 2 *", "0 0 29 2 *"),  # leap years exist
        ("  0   9\t* *  1 ", "0 9 * * 1"),  # any whitespace, normalised to single spaces
        ("5 4 3 2 1", "5 4 3 2 1"),
    ],
)
def test_validate_crontab_accepts(expr: str, normalised: str) -> None:
    assert validate_crontab(expr) == normalised


# --- validate_schedule -------------------------------------------------------------------------------------------

NOT_IMMEDIATE = ["future", "hourly", "daily", "weekly", "custom"]
NEEDS_START = ["future", "hourly", "daily", "weekly"]


@pytest.mark.parametrize("interval", [None, "", "  "])
def test_interval_is_required(interval: str | None) -> None:
    assert refused(interval=interval) == {"interval": ["This field is required."]}


@pytest.mark.parametrize("interval", ["xyz", "Daily", "monthly"])
def test_interval_must_be_a_known_choice(interval: str) -> None:
    assert refused(interval=interval) == {"interval": [
        f'"{interval}" is not a valid choice (immediately, future, hourly, daily, weekly, custom).']}


def test_unknown_interval_and_unknown_zone_are_both_reported() -> None:
    assert refused(interval="xyz", time_zone="Nowhere/Land") == {
        "time_zone": ["Unknown time zone: 'Nowhere/Land'."],
        "interval": ['"xyz" is not a valid choice (immediately, future, hourly, daily, weekly, custom).'],
    }


@pytest.mark.parametrize("interval", NOT_IMMEDIATE)
@pytest.mark.parametrize("name", [None, "", "   "])
def test_name_is_required_except_for_immediately(interval: str, name: str | None) -> None:
    crontab = "0 9 * * *" if interval == "custom" else None
    assert refused(interval=interval, name=name, crontab=crontab) == {"name": [NAME_MESSAGE]}


@pytest.mark.parametrize("interval", NEEDS_START)
def test_start_time_is_required_except_for_immediately_and_custom(interval: str) -> None:
    assert refused(interval=interval, start_time=None) == {"start_time": [START_MESSAGE]}


@pytest.mark.parametrize("interval", NOT_IMMEDIATE)
@pytest.mark.parametrize("lead", [timedelta(seconds=14), timedelta(seconds=14, microseconds=999999), timedelta(0)])
def test_start_time_less_than_fifteen_seconds_ahead_is_refused(interval: str, lead: timedelta) -> None:
    assert refused(interval=interval, start_time=NOW + lead, crontab=cron_for(interval)) == {
        "start_time": [START_MESSAGE]}


@pytest.mark.parametrize("interval", NOT_IMMEDIATE)
def test_start_time_in_the_past_is_refused(interval: str) -> None:
    past = NOW - timedelta(minutes=1)
    assert refused(interval=interval, start_time=past, crontab=cron_for(interval)) == {"start_time": [START_MESSAGE]}


@pytest.mark.parametrize("interval", NOT_IMMEDIATE)
def test_start_time_fifteen_seconds_ahead_is_accepted(interval: str) -> None:
    result = validate(interval=interval, start_time=NOW + timedelta(seconds=15), crontab=cron_for(interval))
    assert result.start_time == NOW + timedelta(seconds=15)
    assert result.interval == IntervalType(interval)


def test_naive_start_time_is_read_in_the_schedule_zone() -> None:
    result = validate(start_time=datetime(2030, 7, 1, 9, 0), time_zone=BERLIN)
    assert result.start_time == at("2030-07-01T09:00+02:00")
    assert result.start_time.tzinfo is UTC
    in_new_york = validate(start_time=datetime(2030, 7, 1, 9, 0), time_zone=NEW_YORK)
    assert in_new_york.start_time == at("2030-07-01T09:00-04:00")


def test_aware_start_time_keeps_its_instant_whatever_the_zone() -> None:
    start = datetime(2030, 7, 1, 9, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
    result = validate(start_time=start, time_zone=NEW_YORK)
    assert result.start_time == at("2030-07-01T00:00+00:00")
    assert result.start_time.tzinfo is UTC
    assert result.time_zone == NEW_YORK


def test_naive_start_time_the_clocks_skip_is_refused() -> None:
    now = at("2026-03-01T00:00+00:00")
    assert refused(interval="daily", start_time=datetime(2026, 3, 29, 2, 30), now=now) == {
        "start_time": ["2026-03-29 02:30 does not exist in Europe/Berlin (the clocks skip that hour)."]
    }


def test_naive_repeated_start_time_means_its_first_occurrence() -> None:
    now = at("2026-10-01T00:00+00:00")
    result = validate(interval="daily", start_time=datetime(2026, 10, 25, 2, 30), now=now)
    assert result.start_time == at("2026-10-25T02:30+02:00")


def test_unknown_zone_is_refused_and_an_aware_start_is_still_checked() -> None:
    assert refused(time_zone="Nowhere/Land", start_time=NOW + timedelta(hours=1)) == {
        "time_zone": ["Unknown time zone: 'Nowhere/Land'."]
    }
    assert refused(time_zone="Nowhere/Land", start_time=NOW) == {
        "time_zone": ["Unknown time zone: 'Nowhere/Land'."],
        "start_time": [START_MESSAGE],
    }
    # A naive start cannot be read without a zone: only the zone is reported.
    assert refused(time_zone="Nowhere/Land", start_time=datetime(2030, 1, 2, 9, 0)) == {
        "time_zone": ["Unknown time zone: 'Nowhere/Land'."]
    }


def test_immediately_with_unknown_zone_is_refused() -> None:
    assert refused(interval="immediately", time_zone="Nowhere/Land") == {
        "time_zone": ["Unknown time zone: 'Nowhere/Land'."]
    }


@pytest.mark.parametrize(
    ("crontab", "message"),
    [
        (None, NEEDS_CRONTAB),
        ("", NEEDS_CRONTAB),
        ("60 * * * *", "Invalid crontab '60 * * * *': minute must be 0-59, got '60'."),
        ("* * * * * *", FIVE_FIELDS.format(6)),
    ],
)
def test_custom_needs_a_valid_crontab(crontab: str | None, message: str) -> None:
    assert refused(interval="custom", crontab=crontab) == {"crontab": [message]}


def test_all_field_errors_are_reported_together() -> None:
    assert refused(interval="custom", name=" ", start_time=NOW, crontab="@daily", time_zone="Nowhere/Land") == {
        "time_zone": ["Unknown time zone: 'Nowhere/Land'."],
        "name": [NAME_MESSAGE],
        "start_time": [START_MESSAGE],
        "crontab": [
            "Invalid crontab '@daily': macros such as @daily are not supported; use 5 fields, e.g. '0 0 * * *'."
        ],
    }
    assert refused(interval="weekly", name=None, start_time=None) == {
        "name": [NAME_MESSAGE],
        "start_time": [START_MESSAGE],
    }


@pytest.mark.parametrize(
    ("name", "expected"),
    [(None, None), ("", None), ("  ", None), ("  Backup now ", "Backup now")],
)
def test_immediately_starts_now_and_ignores_start_time(name: str | None, expected: str | None) -> None:
    result = validate(interval="immediately", name=name, start_time=NOW - timedelta(days=1), crontab="  ")
    assert result == Schedule(interval=IntervalType.IMMEDIATELY, start_time=NOW, time_zone=BERLIN, name=expected)


@pytest.mark.parametrize("interval", ["immediately", "future", "hourly", "daily", "weekly"])
def test_a_crontab_is_refused_with_any_type_but_custom(interval: str) -> None:
    start = NOW + timedelta(hours=1)
    assert refused(interval=interval, start_time=start, crontab="0 9 * * *") == {"crontab": [
        f'A crontab only applies to custom schedules; this schedule is "{interval}". '
        'Leave the crontab out, or make the schedule "custom".'
    ]}
    assert validate(interval=interval, start_time=start, crontab="").interval == IntervalType(interval)
    with pytest.raises(InvalidScheduleError) as raised:
        check_crontab_applies(IntervalType(interval), "@daily")
    assert list(raised.value.errors) == ["crontab"]
    check_crontab_applies(IntervalType.CUSTOM, "0 9 * * *")
    check_crontab_applies(IntervalType(interval), None)


def test_immediately_now_in_another_zone_is_returned_in_utc() -> None:
    now = datetime(2030, 1, 1, 13, 0, tzinfo=ZoneInfo(BERLIN))
    result = validate(interval="immediately", now=now)
    assert result.start_time == NOW
    assert result.start_time.tzinfo is UTC


@pytest.mark.parametrize("interval", ["future", "hourly", "daily", "weekly"])
def test_valid_schedule_is_returned_stripped_and_frozen(interval: str) -> None:
    result = validate(interval=interval, name="  Nightly backup  ", crontab=" ")
    assert result == Schedule(
        interval=IntervalType(interval),
        start_time=NOW + timedelta(hours=1),
        time_zone=BERLIN,
        crontab=None,
        name="Nightly backup",
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.name = "other"  # type: ignore[misc]


def test_interval_may_be_given_as_the_enum() -> None:
    assert validate(interval=IntervalType.DAILY).interval is IntervalType.DAILY


def test_naive_now_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="now must be a timezone-aware datetime"):
        validate(now=datetime(2030, 1, 1, 12, 0))


@pytest.mark.parametrize(
    ("crontab", "time_zone", "now", "expected_start"),
    [
        # Nautobot 2.4 #8786: the start is the next crontab match, not "now".
        ("0 17 * * *", NEW_YORK, "2026-01-05T12:00-05:00", "2026-01-05T17:00-05:00"),
        ("5 4 3 2 1", "UTC", "2030-01-01T00:00+00:00", "2030-02-03T04:05+00:00"),
        ("*/15 * * * *", BERLIN, "2030-01-01T09:07:30+01:00", "2030-01-01T09:15+01:00"),
        # Strictly after now: a match at exactly "now" is not the start.
        ("0 17 * * *", NEW_YORK, "2026-01-05T17:00-05:00", "2026-01-06T17:00-05:00"),
        # The DST rules apply: 02:30 is skipped on 2026-03-29 in Berlin.
        ("30 2 * * *", BERLIN, "2026-03-29T01:00+01:00", "2026-03-29T03:00+02:00"),
    ],
)
def test_custom_without_start_time_starts_at_the_next_match(
    crontab: str, time_zone: str, now: str, expected_start: str
) -> None:
    result = validate(interval="custom", start_time=None, crontab=crontab, time_zone=time_zone, now=at(now))
    assert result.start_time == at(expected_start)
    assert result.crontab == crontab
    assert first_run_at(result) == at(expected_start)


def test_custom_created_at_noon_for_five_pm_is_not_due_before_five_pm() -> None:
    """Nautobot 2.4 test_schedule_entry_is_due_not_immediate: custom 0 17 created at 12:00."""
    now = at("2026-01-05T12:00-05:00")
    result = validate(interval="custom", start_time=None, crontab="0 17 * * *", time_zone=NEW_YORK, now=now)
    due = next_run_at(result, now)
    assert due == at("2026-01-05T17:00-05:00")
    assert due - now > timedelta(hours=1)


def test_custom_with_start_time_keeps_it_and_first_runs_at_the_next_match() -> None:
    now = at("2026-01-05T09:00-05:00")
    result = validate(
        interval="custom", start_time=datetime(2026, 1, 5, 12, 0), crontab="0 17 * * *", time_zone=NEW_YORK, now=now
    )
    assert result.start_time == at("2026-01-05T12:00-05:00")
    assert first_run_at(result) == at("2026-01-05T17:00-05:00")
    assert next_run_at(result, now) == at("2026-01-05T17:00-05:00")


def test_custom_crontab_is_normalised() -> None:
    result = validate(interval="custom", crontab=" */15  9-17 * *   1-5 ")
    assert result.crontab == "*/15 9-17 * * 1-5"


# --- first_run_at / next_run_at / upcoming_runs --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "crontab", "expected"),
    [
        ("2026-01-05T17:00-05:00", "0 17 * * *", "2026-01-05T17:00-05:00"),  # a match is its own first run
        ("2026-01-05T17:00:01-05:00", "0 17 * * *", "2026-01-06T17:00-05:00"),
        ("2026-01-05T12:00-05:00", "0 17 * * *", "2026-01-05T17:00-05:00"),
        ("2026-01-03T12:00-05:00", "0 9 * * 1-5", "2026-01-05T09:00-05:00"),  # Saturday -> Monday
    ],
)
def test_first_run_of_custom_is_the_first_match_at_or_after_the_start(start: str, crontab: str, expected: str) -> None:
    assert first_run_at(schedule("custom", start, time_zone=NEW_YORK, crontab=crontab)) == at(expected)


@pytest.mark.parametrize("interval", ["immediately", "future", "hourly", "daily", "weekly"])
def test_first_run_is_the_start_for_non_custom(interval: str) -> None:
    assert first_run_at(schedule(interval, "2030-01-01T09:00:30+01:00")) == at("2030-01-01T09:00:30+01:00")


@pytest.mark.parametrize("interval", ["immediately", "future"])
def test_one_offs_run_once(interval: str) -> None:
    one_off = schedule(interval, "2030-01-01T09:00+01:00")
    start = at("2030-01-01T09:00+01:00")
    assert next_run_at(one_off, start - timedelta(microseconds=1)) == start
    assert next_run_at(one_off, start - timedelta(days=365)) == start
    assert next_run_at(one_off, start) is None
    assert next_run_at(one_off, start + timedelta(days=1)) is None
    assert upcoming_runs(one_off, after=start - timedelta(hours=1), count=5) == [start]
    assert upcoming_runs(one_off, after=start, count=5) == []


@pytest.mark.parametrize(
    ("interval", "start", "crontab", "after", "expected"),
    [
        # Before the first run: the first run.
        ("hourly", "2030-01-01T09:15+01:00", None, "2029-06-01T00:00+00:00", "2030-01-01T09:15+01:00"),
        ("daily", "2030-01-01T09:15+01:00", None, "2030-01-01T09:14+01:00", "2030-01-01T09:15+01:00"),
        ("weekly", "2030-01-07T09:15+01:00", None, "2030-01-01T00:00+01:00", "2030-01-07T09:15+01:00"),
        ("custom", "2030-01-01T00:00+01:00", "0 9 * * mon", "2029-12-01T00:00+01:00", "2030-01-07T09:00+01:00"),
        # From the previous slot.
        ("hourly", "2030-01-01T09:15+01:00", None, "2030-01-01T09:15+01:00", "2030-01-01T10:15+01:00"),
        ("daily", "2030-01-01T09:15+01:00", None, "2030-01-01T09:15+01:00", "2030-01-02T09:15+01:00"),
        ("weekly", "2030-01-07T09:15+01:00", None, "2030-01-07T09:15+01:00", "2030-01-14T09:15+01:00"),
        ("custom", "2030-01-01T00:00+01:00", "0 9 * * mon", "2030-01-07T09:00+01:00", "2030-01-14T09:00+01:00"),
        ("custom", "2030-01-01T00:00+01:00", "*/15 * * * *", "2030-01-07T09:00+01:00", "2030-01-07T09:15+01:00"),
        # From between two slots.
        ("hourly", "2030-01-01T09:15+01:00", None, "2030-01-01T09:16+01:00", "2030-01-01T10:15+01:00"),
        ("daily", "2030-01-01T09:15+01:00", None, "2030-01-03T12:00+01:00", "2030-01-04T09:15+01:00"),
        ("weekly", "2030-01-07T09:15+01:00", None, "2030-01-08T00:00+01:00", "2030-01-14T09:15+01:00"),
        ("custom", "2030-01-01T00:00+01:00", "0 9 * * mon", "2030-01-08T00:00+01:00", "2030-01-14T09:00+01:00"),
        # Summer: the wall-clock time holds, the UTC instant moves.
        ("daily", "2030-01-01T09:15+01:00", None, "2030-07-01T12:00+02:00", "2030-07-02T09:15+02:00"),
        ("weekly", "2030-01-07T09:15+01:00", None, "2030-07-01T12:00+02:00", "2030-07-08T09:15+02:00"),
        ("custom", "2030-01-01T00:00+01:00", "0 9 * * mon", "2030-07-01T12:00+02:00", "2030-07-08T09:00+02:00"),
        # Hourly keeps elapsed time: its local minute stays, the start's seconds too.
        ("hourly", "2030-01-01T09:15:30+01:00", None, "2030-07-01T12:00+02:00", "2030-07-01T12:15:30+02:00"),
        # Daily keeps the start's seconds too.
        ("daily", "2030-01-01T09:15:30+01:00", None, "2030-01-01T09:15:30+01:00", "2030-01-02T09:15:30+01:00"),
        ("daily", "2030-01-01T09:15:30+01:00", None, "2030-01-02T09:15:10+01:00", "2030-01-02T09:15:30+01:00"),
    ],
)
def test_next_run_at(interval: str, start: str, crontab: str | None, after: str, expected: str) -> None:
    result = next_run_at(schedule(interval, start, crontab=crontab), at(after))
    assert result == at(expected)
    assert result is not None
    assert result.tzinfo is UTC


def test_next_run_at_refuses_a_naive_after() -> None:
    with pytest.raises(ValueError, match="after must be a timezone-aware datetime"):
        next_run_at(schedule("daily", "2030-01-01T09:00+01:00"), datetime(2030, 1, 2, 0, 0))


def test_hourly_from_a_far_past_slot_is_exact() -> None:
    hourly = schedule("hourly", "2026-01-01T09:15:00+00:00")
    a_year_of_slots = at("2026-01-01T09:15+00:00") + timedelta(hours=8760)
    assert next_run_at(hourly, a_year_of_slots) == a_year_of_slots + timedelta(hours=1)
    assert next_run_at(hourly, a_year_of_slots + timedelta(minutes=30)) == a_year_of_slots + timedelta(hours=1)
    assert next_run_at(hourly, a_year_of_slots - timedelta(microseconds=1)) == a_year_of_slots
    ten_years = at("2026-01-01T09:15+00:00") + timedelta(hours=87_660)
    assert next_run_at(hourly, ten_years) == ten_years + timedelta(hours=1)


@pytest.mark.parametrize(
    ("interval", "crontab", "after", "expected"),
    [
        ("daily", None, "2031-01-01T12:00+01:00", "2031-01-02T09:00+01:00"),
        ("weekly", None, "2031-01-01T12:00+01:00", "2031-01-06T09:00+01:00"),
        ("custom", "0 9 1 * *", "2031-01-01T12:00+01:00", "2031-02-01T09:00+01:00"),
    ],
)
def test_wall_clock_schedules_from_a_far_past_slot(
    interval: str, crontab: str | None, after: str, expected: str
) -> None:
    wall_clock = schedule(interval, "2030-01-07T09:00+01:00", crontab=crontab)
    assert next_run_at(wall_clock, at(after)) == at(expected)


def test_chained_next_run_at_matches_upcoming_runs_without_drift() -> None:
    hourly = schedule("hourly", "2030-01-01T09:15+01:00")
    slot = first_run_at(hourly)
    chained = [slot]
    for _ in range(99):
        nxt = next_run_at(hourly, slot)
        assert nxt is not None
        chained.append(nxt)
        slot = nxt
    assert upcoming_runs(hourly, after=at("2030-01-01T09:00+01:00"), count=100) == chained
    assert chained[-1] - chained[0] == timedelta(hours=99)


@pytest.mark.parametrize("count", [0, 1, 5, 30])
@pytest.mark.parametrize("interval", ["hourly", "daily", "weekly", "custom"])
def test_upcoming_runs_returns_count_increasing_instants(interval: str, count: int) -> None:
    recurring = schedule(interval, "2030-01-01T09:00+01:00", crontab="*/5 * * * *")
    runs = upcoming_runs(recurring, after=at("2030-01-01T00:00+01:00"), count=count)
    assert len(runs) == count
    assert runs == sorted(set(runs))
    assert all(run > at("2030-01-01T00:00+01:00") for run in runs)


# --- DST: both directions, Europe/Berlin and America/New_York ----------------------------------------------------

DST_CASES = [
    # Berlin, spring forward 2026-03-29 02:00 -> 03:00: a time in the gap runs at 03:00 CEST, once.
    (
        "daily",
        BERLIN,
        "2026-03-27T02:30+01:00",
        None,
        ["2026-03-27T02:30+01:00", "2026-03-28T02:30+01:00", "2026-03-29T03:00+02:00", "2026-03-30T02:30+02:00"],
    ),
    (
        "weekly",
        BERLIN,
        "2026-03-22T02:30+01:00",
        None,
        ["2026-03-22T02:30+01:00", "2026-03-29T03:00+02:00", "2026-04-05T02:30+02:00"],
    ),
    (
        "custom",
        BERLIN,
        "2026-03-27T00:00+01:00",
        "30 2 * * *",
        ["2026-03-27T02:30+01:00", "2026-03-28T02:30+01:00", "2026-03-29T03:00+02:00", "2026-03-30T02:30+02:00"],
    ),
    (
        "daily",
        BERLIN,
        "2026-03-28T09:00+01:00",
        None,
        ["2026-03-28T09:00+01:00", "2026-03-29T09:00+02:00", "2026-03-30T09:00+02:00"],
    ),
    (
        "hourly",
        BERLIN,
        "2026-03-29T01:00+01:00",
        None,
        ["2026-03-29T01:00+01:00", "2026-03-29T03:00+02:00", "2026-03-29T04:00+02:00"],
    ),
    (
        "custom",
        BERLIN,
        "2026-03-29T00:30+01:00",
        "0 * * * *",
        ["2026-03-29T01:00+01:00", "2026-03-29T03:00+02:00", "2026-03-29T04:00+02:00"],
    ),
    # Berlin, fall back 2026-10-25 03:00 -> 02:00: 02:30 runs once, at its first occurrence.
    (
        "daily",
        BERLIN,
        "2026-10-24T02:30+02:00",
        None,
        ["2026-10-24T02:30+02:00", "2026-10-25T02:30+02:00", "2026-10-26T02:30+01:00"],
    ),
    (
        "weekly",
        BERLIN,
        "2026-10-18T02:30+02:00",
        None,
        ["2026-10-18T02:30+02:00", "2026-10-25T02:30+02:00", "2026-11-01T02:30+01:00"],
    ),
    (
        "custom",
        BERLIN,
        "2026-10-24T00:00+02:00",
        "30 2 * * *",
        ["2026-10-24T02:30+02:00", "2026-10-25T02:30+02:00", "2026-10-26T02:30+01:00"],
    ),
    (
        "hourly",
        BERLIN,
        "2026-10-25T01:00+02:00",
        None,
        ["2026-10-25T01:00+02:00", "2026-10-25T02:00+02:00", "2026-10-25T02:00+01:00", "2026-10-25T03:00+01:00"],
    ),
    (
        "custom",
        BERLIN,
        "2026-10-25T00:30+02:00",
        "0 * * * *",
        ["2026-10-25T01:00+02:00", "2026-10-25T02:00+02:00", "2026-10-25T02:00+01:00", "2026-10-25T03:00+01:00"],
    ),
    # New York, spring forward 2026-03-08 02:00 -> 03:00.
    (
        "daily",
        NEW_YORK,
        "2026-03-07T02:30-05:00",
        None,
        ["2026-03-07T02:30-05:00", "2026-03-08T03:00-04:00", "2026-03-09T02:30-04:00"],
    ),
    (
        "weekly",
        NEW_YORK,
        "2026-03-01T02:30-05:00",
        None,
        ["2026-03-01T02:30-05:00", "2026-03-08T03:00-04:00", "2026-03-15T02:30-04:00"],
    ),
    (
        "custom",
        NEW_YORK,
        "2026-03-07T00:00-05:00",
        "30 2 * * *",
        ["2026-03-07T02:30-05:00", "2026-03-08T03:00-04:00", "2026-03-09T02:30-04:00"],
    ),
    (
        "hourly",
        NEW_YORK,
        "2026-03-08T01:00-05:00",
        None,
        ["2026-03-08T01:00-05:00", "2026-03-08T03:00-04:00", "2026-03-08T04:00-04:00"],
    ),
    (
        "custom",
        NEW_YORK,
        "2026-03-08T00:30-05:00",
        "0 * * * *",
        ["2026-03-08T01:00-05:00", "2026-03-08T03:00-04:00", "2026-03-08T04:00-04:00"],
    ),
    # New York, fall back 2026-11-01 02:00 -> 01:00: 01:30 runs once (05:30Z), not again at 06:30Z.
    (
        "daily",
        NEW_YORK,
        "2026-10-31T01:30-04:00",
        None,
        ["2026-10-31T01:30-04:00", "2026-11-01T01:30-04:00", "2026-11-02T01:30-05:00"],
    ),
    (
        "weekly",
        NEW_YORK,
        "2026-10-25T01:30-04:00",
        None,
        ["2026-10-25T01:30-04:00", "2026-11-01T01:30-04:00", "2026-11-08T01:30-05:00"],
    ),
    (
        "custom",
        NEW_YORK,
        "2026-10-31T00:00-04:00",
        "30 1 * * *",
        ["2026-10-31T01:30-04:00", "2026-11-01T01:30-04:00", "2026-11-02T01:30-05:00"],
    ),
    (
        "daily",
        NEW_YORK,
        "2026-10-31T02:30-04:00",
        None,
        ["2026-10-31T02:30-04:00", "2026-11-01T02:30-05:00", "2026-11-02T02:30-05:00"],
    ),
    (
        "hourly",
        NEW_YORK,
        "2026-11-01T00:00-04:00",
        None,
        ["2026-11-01T00:00-04:00", "2026-11-01T01:00-04:00", "2026-11-01T01:00-05:00", "2026-11-01T02:00-05:00"],
    ),
    (
        "custom",
        NEW_YORK,
        "2026-11-01T00:30-04:00",
        "0 * * * *",
        ["2026-11-01T01:00-04:00", "2026-11-01T01:00-05:00", "2026-11-01T02:00-05:00"],
    ),
    (
        "custom",
        NEW_YORK,
        "2026-11-01T00:45-04:00",
        "*/30 * * * *",
        [
            "2026-11-01T01:00-04:00",
            "2026-11-01T01:30-04:00",
            "2026-11-01T01:00-05:00",
            "2026-11-01T01:30-05:00",
            "2026-11-01T02:00-05:00",
        ],
    ),
    # A fixed hour with every minute: the repeated hour is not run again (60 matches skipped at once).
    (
        "custom",
        NEW_YORK,
        "2026-11-01T01:58-04:00",
        "* 1 * * *",
        ["2026-11-01T01:58-04:00", "2026-11-01T01:59-04:00", "2026-11-02T01:00-05:00"],
    ),
    # A fixed hour list: only its repeated hour is skipped.
    (
        "custom",
        NEW_YORK,
        "2026-11-01T00:00-04:00",
        "0 1,2 * * *",
        ["2026-11-01T01:00-04:00", "2026-11-01T02:00-05:00", "2026-11-02T01:00-05:00"],
    ),
]


@pytest.mark.parametrize(("interval", "time_zone", "start", "crontab", "expected"), DST_CASES)
def test_dst_transitions(interval: str, time_zone: str, start: str, crontab: str | None, expected: list[str]) -> None:
    recurring = schedule(interval, start, time_zone=time_zone, crontab=crontab)
    before = at(start) - timedelta(seconds=1)
    assert upcoming_runs(recurring, after=before, count=len(expected)) == [at(text) for text in expected]
    # From each previous slot, as the dispatcher calls it.
    for previous, following in pairwise(expected):
        assert next_run_at(recurring, at(previous)) == at(following)


@pytest.mark.parametrize(
    ("interval", "crontab"),
    [("daily", None), ("custom", "0 17 * * *")],
)
@pytest.mark.parametrize(
    ("after", "expected"),
    [
        ("2024-01-15T12:00+00:00", "2024-01-15T22:00+00:00"),  # EST
        ("2024-03-10T12:00+00:00", "2024-03-10T21:00+00:00"),  # EDT from that morning
        ("2024-11-03T12:00+00:00", "2024-11-03T22:00+00:00"),  # EST again
    ],
)
def test_five_pm_new_york_keeps_its_wall_clock_time(
    interval: str, crontab: str | None, after: str, expected: str
) -> None:
    """Nautobot 2.4 test_to_cron / test_crontab_dst / test_daily_dst."""
    five_pm = schedule(interval, "2024-01-01T17:00-05:00", time_zone=NEW_YORK, crontab=crontab)
    assert next_run_at(five_pm, at(after)) == at(expected)


@pytest.mark.parametrize(
    ("time_zone", "crontab", "after", "expected"),
    [
        # São Paulo 2018: the gap starts at midnight; the day still runs, at 01:00.
        ("America/Sao_Paulo", "0 0 * * *", "2018-11-03T12:00-03:00", "2018-11-04T01:00-02:00"),
        # Lord Howe: a 30-minute gap (02:00 -> 02:30) and a 30-minute fold.
        ("Australia/Lord_Howe", "15 2 * * *", "2026-10-03T12:00+10:30", "2026-10-04T02:30+11:00"),
        ("Australia/Lord_Howe", "45 1 * * *", "2026-04-05T01:45+11:00", "2026-04-06T01:45+10:30"),
        # Dublin's "negative" DST: the repeated hour in October runs once.
        ("Europe/Dublin", "30 1 * * *", "2026-10-25T01:30+01:00", "2026-10-26T01:30+00:00"),
    ],
)
def test_other_zones(time_zone: str, crontab: str, after: str, expected: str) -> None:
    recurring = schedule("custom", "2018-01-01T00:00+00:00", time_zone=time_zone, crontab=crontab)
    assert next_run_at(recurring, at(after)) == at(expected)


# --- describe ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("interval", "start", "time_zone", "crontab", "text"),
    [
        ("immediately", "2030-01-01T08:00+00:00", BERLIN, None, "Once, as soon as possible"),
        ("future", "2030-01-01T08:00+00:00", BERLIN, None, "Once, at 2030-01-01 09:00 (Europe/Berlin)"),
        ("future", "2030-07-01T13:30+00:00", NEW_YORK, None, "Once, at 2030-07-01 09:30 (America/New_York)"),
        (
            "hourly",
            "2030-01-01T08:15+00:00",
            BERLIN,
            None,
            "Every hour at :15 (from 2030-01-01 09:15 Europe/Berlin)",
        ),
        ("daily", "2030-01-01T08:00+00:00", BERLIN, None, "Daily at 09:00 (Europe/Berlin)"),
        ("daily", "2030-07-01T07:00+00:00", BERLIN, None, "Daily at 09:00 (Europe/Berlin)"),
        ("weekly", "2030-01-07T08:00+00:00", BERLIN, None, "Weekly on Monday at 09:00 (Europe/Berlin)"),
        ("weekly", "2030-01-06T02:00+00:00", NEW_YORK, None, "Weekly on Saturday at 21:00 (America/New_York)"),
        ("custom", "2030-01-01T08:00+00:00", BERLIN, "*/15 * * * *", "Every 15 minutes (Europe/Berlin)"),
        (
            "custom",
            "2030-01-01T08:00+00:00",
            BERLIN,
            "0 9 * * 1-5",
            "At 09:00, Monday through Friday (Europe/Berlin)",
        ),
        ("custom", "2030-01-01T08:00+00:00", "UTC", "0 17 * * *", "At 17:00 (UTC)"),
        ("custom", "2030-01-01T08:00+00:00", "UTC", "0 0 * * 7", "At 00:00, only on Sunday (UTC)"),
    ],
)
def test_describe(interval: str, start: str, time_zone: str, crontab: str | None, text: str) -> None:
    assert describe(schedule(interval, start, time_zone=time_zone, crontab=crontab)) == text


# --- properties over a year ------------------------------------------------------------------------------------------

ZONES = ["Europe/Berlin", "America/New_York", "America/Sao_Paulo", "Australia/Lord_Howe", "Europe/Dublin", "UTC"]


@settings(max_examples=40, deadline=None)
@given(
    time_zone=st.sampled_from(ZONES),
    year=st.sampled_from([2018, 2026]),
    day_of_year=st.integers(min_value=0, max_value=364),
    hour=st.integers(min_value=0, max_value=23),
    minute=st.integers(min_value=0, max_value=59),
    custom=st.booleans(),
    probe=st.integers(min_value=0, max_value=364 * 24 * 3600),
)
def test_a_year_of_wall_clock_runs(
    time_zone: str, year: int, day_of_year: int, hour: int, minute: int, custom: bool, probe: int
) -> None:
    """Daily and fixed-hour custom schedules: strictly increasing, after ``after``, exactly once per local date."""
    zone = ZoneInfo(time_zone)
    day = date(year, 1, 1) + timedelta(days=day_of_year)
    start_time = datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone).astimezone(UTC)
    local_start = start_time.astimezone(zone)
    crontab = f"{local_start.minute} {local_start.hour} * * *"
    daily = Schedule(interval=IntervalType.DAILY, start_time=start_time, time_zone=time_zone, name="p")
    recurring = (
        Schedule(interval=IntervalType.CUSTOM, start_time=start_time, time_zone=time_zone, crontab=crontab, name="p")
        if custom
        else daily
    )

    runs = [first_run_at(recurring)]
    end = start_time + timedelta(days=365)
    while runs[-1] < end:
        after = runs[-1]
        nxt = next_run_at(recurring, after)
        assert nxt is not None
        assert nxt > after
        runs.append(nxt)

    local_dates = [run.astimezone(zone).date() for run in runs]
    first_date, last_date = local_dates[0], local_dates[-1]
    every_date = [first_date + timedelta(days=n) for n in range((last_date - first_date).days + 1)]
    assert local_dates == every_date  # strictly increasing, one run per local calendar date, none skipped

    # Daily and the equivalent crontab agree.
    assert runs == [first_run_at(daily), *upcoming_runs(daily, after=first_run_at(daily), count=len(runs) - 1)]

    # From any instant, the next run is the first run after it.
    after = start_time + timedelta(seconds=probe)
    expected = next(run for run in runs if run > after)
    assert next_run_at(recurring, after) == expected


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (datetime(2030, 1, 15, 12, 0, 0, tzinfo=UTC), datetime(2030, 1, 15, 12, 1, tzinfo=UTC)),
        (datetime(2030, 1, 15, 12, 0, 45, tzinfo=UTC), datetime(2030, 1, 15, 12, 1, tzinfo=UTC)),
        (datetime(2030, 1, 15, 12, 0, 46, tzinfo=UTC), datetime(2030, 1, 15, 12, 2, tzinfo=UTC)),
    ],
)
def test_a_recurring_schedule_without_a_start_begins_at_the_next_whole_minute_15_s_ahead(
    now: datetime, expected: datetime
) -> None:
    for interval in (IntervalType.HOURLY, IntervalType.DAILY, IntervalType.WEEKLY):
        assert default_start(interval, now) == expected
    assert default_start(IntervalType.CUSTOM, now) is None


@pytest.mark.parametrize("zone", ["America", "x" * 300, "../etc/passwd", "Europe/", " "])
def test_zone_names_that_are_folders_or_too_long_are_unknown_zones(zone: str) -> None:
    with pytest.raises(InvalidScheduleError) as err:
        validate_schedule(interval="daily", name="n", start_time=datetime(2031, 1, 1, tzinfo=UTC), crontab=None,
                          time_zone=zone, now=datetime(2030, 1, 1, tzinfo=UTC))
    assert list(err.value.errors) == ["time_zone"]  # type: ignore[arg-type]


@pytest.mark.parametrize("year", [9000, 9999])
def test_start_times_beyond_the_year_9000_are_refused(year: int) -> None:
    with pytest.raises(InvalidScheduleError) as err:
        validate_schedule(interval="weekly", name="n", start_time=datetime(year, 12, 31, 23, 59, tzinfo=UTC),
                          crontab=None, time_zone="Pacific/Kiritimati", now=datetime(2030, 1, 1, tzinfo=UTC))
    assert err.value.errors == {"start_time": ["Please enter a date and time before the year 9000."]}


# --- default_schedule_name ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "crontab", "time_zone", "expected"),
    [
        # a naive start is already a wall-clock time in the schedule's zone (the run modal's date and time pickers)
        (datetime(2030, 1, 16, 9, 0), None, BERLIN, "Backup – 2030-01-16 09:00"),
        # an aware start is shown as the wall-clock time in the schedule's zone
        (datetime(2030, 1, 16, 8, 0, tzinfo=UTC), None, BERLIN, "Backup – 2030-01-16 09:00"),
        (datetime(2030, 7, 16, 8, 0, tzinfo=UTC), None, BERLIN, "Backup – 2030-07-16 10:00"),  # summer time
        (datetime(2030, 1, 16, 8, 0, tzinfo=UTC), None, NEW_YORK, "Backup – 2030-01-16 03:00"),
        (datetime(2030, 1, 16, 8, 0, 59, tzinfo=UTC), None, "UTC", "Backup – 2030-01-16 08:00"),
        # a custom schedule without a start time is named by its crontab; with one, by its start
        (None, "0 9 * * 1-5", BERLIN, "Backup – 0 9 * * 1-5"),
        (datetime(2030, 1, 16, 9, 0), "0 9 * * 1-5", BERLIN, "Backup – 2030-01-16 09:00"),
        # nothing given (as soon as possible): now, in the schedule's zone
        (None, None, BERLIN, "Backup – 2030-01-01 13:00"),
        (None, "", BERLIN, "Backup – 2030-01-01 13:00"),
        # an unknown zone is refused by validation, not here: the time is shown in UTC
        (datetime(2030, 1, 16, 8, 0, tzinfo=UTC), None, "Mars/Olympus_Mons", "Backup – 2030-01-16 08:00"),
        (datetime(2030, 1, 16, 8, 0, tzinfo=UTC), None, "../etc/passwd", "Backup – 2030-01-16 08:00"),
    ],
)
def test_default_schedule_name(start: datetime | None, crontab: str | None, time_zone: str, expected: str) -> None:
    assert default_schedule_name("Backup", start=start, crontab=crontab, time_zone=time_zone, now=NOW) == expected


def test_default_schedule_name_is_cut_to_the_longest_name() -> None:
    name = default_schedule_name("j" * 300, start=None, time_zone="UTC", now=NOW)
    assert len(name) == MAX_NAME_LENGTH == 255 and name == "j" * 255


def test_default_schedule_name_is_a_valid_name() -> None:
    start = NOW + timedelta(hours=1)
    name = default_schedule_name("Backup", start=start, time_zone=BERLIN, now=NOW)
    schedule = validate_schedule(interval="future", name=name, start_time=start, crontab=None, time_zone=BERLIN,
                                 now=NOW)
    assert schedule.name == "Backup – 2030-01-01 14:00"
