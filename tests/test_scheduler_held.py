"""A disabled (or vanished) job's schedules are held: no run and no error per due time while it is off, one ``missed``
result for the gap saying why, and the misfire policy once it is back."""

from __future__ import annotations

from datetime import timedelta

from bot.app import Core
from bot.domain.dispatch import JOB_HELD
from bot.domain.results import JobResultStatus
from storage.repositories import Repositories
from tests.conftest import NOW
from tests.test_scheduler import dispatcher, results, run_until, schedule_job


def test_a_disabled_jobs_minutely_schedule_is_held_and_resumes_when_enabled(core: Core) -> None:
    scheduled = schedule_job(core, interval="custom", crontab="* * * * *", start=None, zone="UTC", now=NOW)
    run_until(core, NOW + timedelta(minutes=3))
    assert [status for _, status in results(core, scheduled)] == [JobResultStatus.PENDING] * 3

    core.services.management.set_job_enabled("testjobs.TestPass", False, now=NOW + timedelta(minutes=3, seconds=30))
    d = dispatcher(core)
    for minute in range(4, 11):  # the scheduler runs every minute meanwhile: nothing is due, nothing is written
        assert d.earliest_due() is None
        assert d.dispatch_due(now=NOW + timedelta(minutes=minute)).created == 0
    assert len(results(core, scheduled)) == 3

    back = NOW + timedelta(minutes=10, seconds=30)
    core.services.management.set_job_enabled("testjobs.TestPass", True, now=back)
    d.dispatch_due(now=back)
    after = results(core, scheduled)
    assert after[3:] == [(NOW + timedelta(minutes=4), JobResultStatus.MISSED),
                         (NOW + timedelta(minutes=10), JobResultStatus.PENDING)]  # the latest, within the grace
    with core.db.read() as session:
        missed = [r for r in Repositories(session).job_results.list_page(
            limit=100, offset=0, scheduled_job_id=scheduled).items if r.status is JobResultStatus.MISSED]
    assert missed[0].error is not None
    assert missed[0].error.startswith("missed 6 due times from 2030-01-15T12:04:00+00:00 to 2030-01-15T12:09:00")
    assert missed[0].error.endswith(JOB_HELD)


def test_a_schedule_of_a_job_whose_module_disappeared_is_held(core: Core) -> None:
    scheduled = schedule_job(core, interval="custom", crontab="* * * * *", start=None, zone="UTC", now=NOW)
    (core.settings.jobs_paths[0] / "testjobs.py").unlink()
    core.services.management.sync_jobs(now=NOW)
    d = dispatcher(core)
    assert d.earliest_due() is None
    assert d.dispatch_due(now=NOW + timedelta(minutes=5)).created == 0
    assert results(core, scheduled) == []
