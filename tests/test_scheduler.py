"""The dispatcher on a real database: due times become job results exactly once, across DST, misfires and races.

Time is driven by explicit ``now`` values; nothing sleeps.
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from bot.app import Core
from bot.domain.dispatch import MisfirePolicy, MissedRuns, plan_dispatch
from bot.domain.results import JobResultStatus
from bot.domain.schedules import IntervalType, Schedule
from bot.scheduler import Dispatcher
from bot.services import ScheduleInput
from storage.db import read_tables
from storage.repositories import Repositories
from tests.conftest import ALICE, APPROVER

NOT_A_SLOT = datetime.min.replace(tzinfo=UTC)

GRACE = timedelta(hours=1)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def dispatcher(core: Core, batch_size: int = 500) -> Dispatcher:
    return Dispatcher(core.db, grace=GRACE, clock=core.services.clock, batch_size=batch_size)


def schedule_job(core: Core, *, interval: str, start: datetime | None, zone: str, crontab: str | None = None,
                 now: datetime) -> str:
    outcome = core.services.requests.request_job(
        actor=ALICE, job="testjobs.TestPass", time_zone=zone, now=now,
        schedule=ScheduleInput(interval=interval, name=f"{interval} in {zone}", start_time=start, crontab=crontab),
    )
    assert outcome.scheduled_job is not None
    return outcome.scheduled_job.id


def results(core: Core, scheduled_job_id: str | None = None) -> list[tuple[datetime, str]]:
    with core.db.read() as session:
        found = Repositories(session).job_results.list_page(limit=100_000, offset=0, scheduled_job_id=scheduled_job_id)
    return sorted(((r.scheduled_for, r.status) for r in found.items),
                  key=lambda slot: (slot[0] is not None, slot[0] or NOT_A_SLOT))


def run_until(core: Core, until: datetime) -> None:
    """Dispatch exactly at every due time up to ``until``, as a scheduler that is never late would."""
    d = dispatcher(core)
    while (earliest := d.earliest_due()) is not None and earliest <= until:
        d.dispatch_due(now=earliest)


# ------------------------------------------------------------------------------------------ DST, every interval type

DST_CASES = [
    # (zone, interval, start (local, with offset), crontab, dispatch until, expected due times in UTC)
    ("Europe/Berlin", "daily", "2026-03-27T02:30+01:00", None, "2026-03-31T00:00Z",
     ["2026-03-27T01:30Z", "2026-03-28T01:30Z", "2026-03-29T01:00Z", "2026-03-30T00:30Z"]),
    ("Europe/Berlin", "daily", "2026-10-23T02:30+02:00", None, "2026-10-27T00:00Z",
     ["2026-10-23T00:30Z", "2026-10-24T00:30Z", "2026-10-25T00:30Z", "2026-10-26T01:30Z"]),
    ("America/New_York", "daily", "2026-03-06T09:00-05:00", None, "2026-03-10T00:00Z",
     ["2026-03-06T14:00Z", "2026-03-07T14:00Z", "2026-03-08T13:00Z", "2026-03-09T13:00Z"]),
    ("America/New_York", "daily", "2026-10-30T01:30-04:00", None, "2026-11-03T00:00Z",
     ["2026-10-30T05:30Z", "2026-10-31T05:30Z", "2026-11-01T05:30Z", "2026-11-02T06:30Z"]),
    ("Europe/Berlin", "weekly", "2026-03-22T09:00+01:00", None, "2026-04-06T00:00Z",
     ["2026-03-22T08:00Z", "2026-03-29T07:00Z", "2026-04-05T07:00Z"]),
    ("America/New_York", "weekly", "2026-10-25T09:00-04:00", None, "2026-11-09T00:00Z",
     ["2026-10-25T13:00Z", "2026-11-01T14:00Z", "2026-11-08T14:00Z"]),
    ("Europe/Berlin", "hourly", "2026-03-29T00:30+01:00", None, "2026-03-29T03:00Z",
     ["2026-03-28T23:30Z", "2026-03-29T00:30Z", "2026-03-29T01:30Z", "2026-03-29T02:30Z"]),
    ("Europe/Berlin", "hourly", "2026-10-25T01:30+02:00", None, "2026-10-25T03:00Z",
     ["2026-10-24T23:30Z", "2026-10-25T00:30Z", "2026-10-25T01:30Z", "2026-10-25T02:30Z"]),
    ("America/New_York", "custom", None, "30 1 * * *", "2026-11-03T00:00Z",
     ["2026-10-31T05:30Z", "2026-11-01T05:30Z", "2026-11-02T06:30Z"]),
    ("America/New_York", "custom", None, "30 2 * * *", "2026-03-10T12:00Z",
     ["2026-03-07T07:30Z", "2026-03-08T07:00Z", "2026-03-09T06:30Z", "2026-03-10T06:30Z"]),
    ("Europe/Berlin", "custom", None, "0 * * * *", "2026-10-25T02:30Z",
     ["2026-10-24T23:00Z", "2026-10-25T00:00Z", "2026-10-25T01:00Z", "2026-10-25T02:00Z"]),
    ("Europe/Berlin", "future", "2026-03-29T03:15+02:00", None, "2026-03-30T00:00Z", ["2026-03-29T01:15Z"]),
]


@pytest.mark.parametrize(("zone", "interval", "start", "crontab", "until", "expected"), DST_CASES)
def test_due_times_across_dst_for_every_interval_type(
    core: Core, zone: str, interval: str, start: str | None, crontab: str | None, until: str,
    expected: list[str],
) -> None:
    first = utc(expected[0])
    created = first - timedelta(minutes=50)  # a custom schedule without a start begins at the next match
    sj = schedule_job(core, interval=interval, start=utc(start) if start else None, zone=zone, crontab=crontab,
                      now=created)
    run_until(core, utc(until))
    got = results(core, sj)
    assert [at for at, _ in got] == [utc(e) for e in expected]
    assert {status for _, status in got} == {JobResultStatus.PENDING.value}


def test_an_approved_immediately_request_runs_once_and_finishes(core: Core) -> None:
    now = datetime(2030, 1, 15, 12, tzinfo=UTC)
    sj = core.services.requests.request_job(actor=ALICE, job="testjobs.ApprovalJob", now=now).scheduled_job
    assert sj is not None
    assert dispatcher(core).dispatch_due(now=now + timedelta(minutes=5)).scheduled_jobs == 0  # not approved
    core.services.decisions.approve_scheduled_job(actor=APPROVER, scheduled_job_id=sj.id,
                                                  now=now + timedelta(minutes=10))
    report = dispatcher(core).dispatch_due(now=now + timedelta(minutes=10, seconds=1))
    assert report.created == 1 and report.finished == 1
    finished = core.services.listings.get_scheduled_job(ALICE, sj.id)
    assert not finished.enabled and finished.end_reason == "finished" and finished.total_run_count == 1
    assert finished.last_run_at == now + timedelta(minutes=10)
    assert dispatcher(core).dispatch_due(now=now + timedelta(days=1)).scheduled_jobs == 0


def test_the_job_result_runs_as_the_requester_and_names_the_approver(core: Core) -> None:
    now = datetime(2030, 1, 15, 12, tzinfo=UTC)
    sj = core.services.requests.request_job(actor=ALICE, job="testjobs.ApprovalJob", now=now).scheduled_job
    assert sj is not None
    core.services.decisions.approve_scheduled_job(actor=APPROVER, scheduled_job_id=sj.id, now=now)
    dispatcher(core).dispatch_due(now=now)
    with core.db.read() as session:
        [row] = Repositories(session).job_results.list_page(limit=10, offset=0).items
    assert (row.user_id, row.approved_by_id, row.status) == ("UALICE", "UAPPROVER", "pending")


def test_paused_and_unapproved_jobs_are_not_dispatched(core: Core) -> None:
    now = datetime(2030, 1, 15, 12, tzinfo=UTC)
    sj = schedule_job(core, interval="hourly", start=now + timedelta(minutes=1), zone="UTC", now=now)
    core.services.management.pause_scheduled_job(actor=ALICE, scheduled_job_id=sj, now=now)
    core.services.requests.request_job(actor=ALICE, job="testjobs.ApprovalJob",
                         schedule=ScheduleInput(interval="hourly", name="x", start_time=now + timedelta(minutes=1)),
                         now=now)
    assert dispatcher(core).dispatch_due(now=now + timedelta(hours=3)).scheduled_jobs == 0
    assert results(core) == []


# --------------------------------------------------------------------------------------------------------- misfires


def test_after_downtime_the_latest_missed_slot_runs_once_and_the_others_are_recorded(core: Core) -> None:
    now = datetime(2030, 1, 15, 12, tzinfo=UTC)
    sj = schedule_job(core, interval="hourly", start=now + timedelta(minutes=10), zone="UTC", now=now)
    back = now + timedelta(hours=3, minutes=20)  # due at 12:10, 13:10, 14:10, 15:10; back at 15:20
    report = dispatcher(core).dispatch_due(now=back)
    assert report.created == 2 and report.missed == 3
    got = results(core, sj)
    assert [s for _, s in got] == ["missed", "pending"]  # one result for the gap: 12:10, 13:10, 14:10
    assert got[0][0] == now + timedelta(minutes=10) and got[-1][0] == now + timedelta(hours=3, minutes=10)
    assert core.services.listings.get_scheduled_job(ALICE, sj).next_run_at == now + timedelta(hours=4, minutes=10)


def test_a_missed_slot_older_than_the_grace_period_does_not_run(core: Core) -> None:
    now = datetime(2030, 1, 15, 12, tzinfo=UTC)
    sj = schedule_job(core, interval="daily", start=now + timedelta(minutes=10), zone="UTC", now=now)
    dispatcher(core).dispatch_due(now=now + timedelta(hours=5))
    assert [s for _, s in results(core, sj)] == ["missed"]


def test_a_one_off_that_missed_its_time_runs_on_start_up_within_the_grace_period(core: Core) -> None:
    now = datetime(2030, 1, 15, 12, tzinfo=UTC)
    sj = schedule_job(core, interval="future", start=now + timedelta(minutes=10), zone="UTC", now=now)
    dispatcher(core).dispatch_due(now=now + timedelta(minutes=50))
    assert [s for _, s in results(core, sj)] == ["pending"]
    assert core.services.listings.get_scheduled_job(ALICE, sj).end_reason == "finished"


def test_a_one_off_missed_beyond_the_grace_period_is_recorded_and_finished(core: Core) -> None:
    now = datetime(2030, 1, 15, 12, tzinfo=UTC)
    sj = schedule_job(core, interval="future", start=now + timedelta(minutes=10), zone="UTC", now=now)
    dispatcher(core).dispatch_due(now=now + timedelta(hours=2))
    assert [s for _, s in results(core, sj)] == ["missed"]
    assert not core.services.listings.get_scheduled_job(ALICE, sj).enabled


def test_resume_skips_the_runs_missed_while_paused(core: Core) -> None:
    now = datetime(2030, 1, 15, 12, tzinfo=UTC)
    sj = schedule_job(core, interval="hourly", start=now + timedelta(minutes=10), zone="UTC", now=now)
    core.services.management.pause_scheduled_job(actor=ALICE, scheduled_job_id=sj, now=now)
    core.services.management.resume_scheduled_job(actor=ALICE, scheduled_job_id=sj, now=now + timedelta(hours=5))
    dispatcher(core).dispatch_due(now=now + timedelta(hours=5, minutes=10))
    assert results(core, sj) == [(now + timedelta(hours=5, minutes=10), "pending")]


@pytest.mark.parametrize(
    ("policy", "late", "runs"),
    [
        (MisfirePolicy.RUN_ONCE, timedelta(minutes=30), True),
        (MisfirePolicy.RUN_ONCE, timedelta(minutes=61), False),
        (MisfirePolicy.SKIP, timedelta(seconds=30), True),
        (MisfirePolicy.SKIP, timedelta(minutes=5), False),
    ],
)
def test_misfire_policies(policy: MisfirePolicy, late: timedelta, runs: bool) -> None:
    start = datetime(2030, 1, 15, 12, tzinfo=UTC)
    schedule = Schedule(interval=IntervalType.DAILY, start_time=start, time_zone="UTC", name="d")
    plan = plan_dispatch(schedule, due_at=start, now=start + late, policy=policy, grace=GRACE)
    assert (plan.run_at is not None) is runs
    assert plan.missed == (None if runs else MissedRuns(count=1, first=start, last=start))
    assert plan.next_run_at == start + timedelta(days=1)


def test_a_long_outage_of_a_minutely_crontab_is_bounded() -> None:
    start = datetime(2030, 1, 1, tzinfo=UTC)
    schedule = Schedule(interval=IntervalType.CUSTOM, start_time=start, crontab="* * * * *", time_zone="UTC", name="m")
    now = start + timedelta(days=30)
    plan = plan_dispatch(schedule, due_at=start, now=now, grace=GRACE)
    assert plan.run_at is None and plan.next_run_at == now + timedelta(minutes=1)
    assert plan.missed is not None and plan.missed.at_least and plan.missed.first == start
    assert "missed at least 10,000 due times from 2030-01-01T00:00:00+00:00 to 2030-01-31" in plan.missed.describe(now)


# ------------------------------------------------------------------------------------------------------ exactly once


def test_concurrent_dispatchers_create_exactly_one_result_per_due_time(core: Core) -> None:
    now = datetime(2030, 1, 15, 12, tzinfo=UTC)
    ids = [schedule_job(core, interval="future", start=now + timedelta(seconds=20 + i), zone="UTC", now=now)
           for i in range(60)]
    at = now + timedelta(minutes=2)
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def race() -> None:
        barrier.wait()
        try:
            dispatcher(core, batch_size=7).dispatch_all_due(now=at)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=race) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    stored = read_tables(core.db.engine, "job_results", "scheduled_jobs")
    per_job = dict(Counter(row["scheduled_job_id"] for row in stored["job_results"]))
    finished = sum(1 for row in stored["scheduled_jobs"] if row["end_reason"] == "finished")
    assert per_job == dict.fromkeys(ids, 1)
    assert finished == 60


def test_a_burst_of_due_jobs_takes_several_batches(core: Core) -> None:
    now = datetime(2030, 1, 15, 12, tzinfo=UTC)
    for _ in range(25):
        schedule_job(core, interval="future", start=now + timedelta(minutes=1), zone="UTC", now=now)
    report = dispatcher(core, batch_size=10).dispatch_all_due(now=now + timedelta(minutes=1))
    assert report.created == 25 and report.scheduled_jobs == 25


def test_days_of_downtime_are_one_missed_result_per_schedule_saying_how_many_and_when(core: Core) -> None:
    now = datetime(2030, 1, 15, 12, tzinfo=UTC)
    sj = schedule_job(core, interval="custom", start=None, crontab="* * * * *", zone="UTC", now=now)
    back = now + timedelta(days=5, seconds=30)  # due every minute from 12:01; back five days later
    report = dispatcher(core).dispatch_all_due(now=back)
    assert report.missed == 7199 and report.created == 2
    got = results(core, sj)
    assert got == [(now + timedelta(minutes=1), "missed"), (now + timedelta(days=5), "pending")]
    with core.db.read() as session:
        [missed] = [r for r in Repositories(session).job_results.list_page(limit=10, offset=0).items
                    if r.status == "missed"]
        missed = Repositories(session).job_results.get(missed.id)  # type: ignore[assignment]
        told = [e for e in Repositories(session).outbox.list_recent(limit=100) if e.kind == "run_finished"]
    expected = "missed 7,199 due times from 2030-01-15T12:01:00+00:00 to 2030-01-20T11:59:00+00:00"
    assert missed is not None and missed.error is not None and missed.error.startswith(expected)
    assert [line.message for line in missed.log] == [missed.error]
    assert [(e.channel, e.payload["job_result_id"]) for e in told] == [("UALICE", missed.id)]
