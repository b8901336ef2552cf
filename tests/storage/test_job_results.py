"""JobResultRepository on real databases: adding runs and due times, logs, listings, and the claims, leases and
outcomes that follow the domain's state machine (only a holder records an outcome; final statuses never change)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from bot.domain.records import EndReason, LogRecord
from bot.domain.results import JobResultStatus
from storage.db import Database
from tests.storage.conftest import NOW, add_job, new_job_result, new_scheduled_job, read, write

LEASE = timedelta(seconds=60)


def clock_at(moment: object) -> object:
    return lambda: moment


# ------------------------------------------------------------------------------------------------------- adding


def test_a_new_job_result_is_returned_as_stored(database: Database) -> None:
    job = add_job(database)
    with write(database) as repos:
        added = repos.job_results.add(new_job_result(job, dry_run=True))
    assert added.job == job and added.name == "Backup" and added.user_id == "UALICE"
    assert added.status is JobResultStatus.PENDING and added.dry_run and added.created_at == NOW
    assert added.started_at is added.completed_at is added.scheduled_for is added.error is None
    assert added.log == ()
    with read(database) as repos:
        assert repos.job_results.get(added.id) == added


def test_due_times_are_stored_once_each(database: Database) -> None:
    job = add_job(database)
    with write(database) as repos:
        scheduled = repos.scheduled_jobs.add(new_scheduled_job(job))
        slots = [new_job_result(job, scheduled_job_id=scheduled.id, scheduled_for=NOW + timedelta(hours=h),
                                approved_by_id="UAPPROVER") for h in (1, 2)]
        missed = new_job_result(job, scheduled_job_id=scheduled.id, scheduled_for=NOW, status=JobResultStatus.MISSED,
                                data=None, completed_at=NOW, error="missed", approved_by_id="UAPPROVER")
        assert repos.job_results.insert_slots([*slots, missed]) == 3
        assert repos.job_results.insert_slots(slots) == 0  # already there: left alone
        assert repos.job_results.insert_slots([]) == 0
    with read(database) as repos:
        page = repos.job_results.list_page(limit=10, offset=0, scheduled_job_id=scheduled.id)
    stored = sorted(page.items, key=lambda r: r.scheduled_for or NOW)
    assert [(r.scheduled_for, r.status, r.approved_by_id, r.error) for r in stored] == [
        (NOW, JobResultStatus.MISSED, "UAPPROVER", "missed"),
        (NOW + timedelta(hours=1), JobResultStatus.PENDING, "UAPPROVER", None),
        (NOW + timedelta(hours=2), JobResultStatus.PENDING, "UAPPROVER", None),
    ]
    assert stored[0].completed_at == NOW


def test_log_lines_are_kept_in_order(database: Database) -> None:
    job = add_job(database)
    lines = [LogRecord(logged_at=NOW + timedelta(seconds=i), level=level, message=f"line {i}", obj=obj)
             for i, (level, obj) in enumerate([("info", None), ("success", "core-1"), ("failure", None)])]
    with write(database) as repos:
        added = repos.job_results.add(new_job_result(job))
        repos.job_results.add_log(added.id, lines[:2])
        repos.job_results.add_log(added.id, lines[2:])
    with read(database) as repos:
        found = repos.job_results.get(added.id)
        bare = repos.job_results.get(added.id, with_log=False)
        assert repos.job_results.get("not-a-uuid") is None
        assert repos.job_results.get("00000000-0000-4000-8000-000000000000") is None
    assert found is not None and found.log == tuple(lines)
    assert bare is not None and bare.log == ()


def test_the_listing_is_newest_first_with_log_counts_and_filters(database: Database) -> None:
    job, other = add_job(database, "jobs.Backup"), add_job(database, "jobs.Restore")
    with write(database) as repos:
        scheduled = repos.scheduled_jobs.add(new_scheduled_job(job))
        old = repos.job_results.add(new_job_result(job, created_at=NOW - timedelta(hours=2)))
        mid = repos.job_results.add(new_job_result(other, created_at=NOW - timedelta(hours=1), user_id="UBOB"))
        new = repos.job_results.add(new_job_result(job, created_at=NOW, scheduled_job_id=scheduled.id))
        repos.job_results.add_log(mid.id, [LogRecord(logged_at=NOW, level="info", message="hi")])
    with read(database) as repos:
        everything = repos.job_results.list_page(limit=10, offset=0)
        assert (everything.count, [r.id for r in everything.items]) == (3, [new.id, mid.id, old.id])
        assert [(r.log, r.log_count) for r in everything.items] == [((), 0), ((), 1), ((), 0)]  # lines not loaded
        assert repos.job_results.get(mid.id).log == (LogRecord(logged_at=NOW, level="info", message="hi"),)
        page = repos.job_results.list_page(limit=1, offset=1)
        assert (page.count, [r.id for r in page.items]) == (3, [mid.id])
        assert [r.id for r in repos.job_results.list_page(limit=10, offset=0, job_ids=[job.id]).items] == [
            new.id, old.id]
        assert [r.id for r in repos.job_results.list_page(limit=10, offset=0, user_id="UBOB").items] == [mid.id]
        assert [r.id for r in repos.job_results.list_page(limit=10, offset=0,
                                                          scheduled_job_id=scheduled.id).items] == [new.id]
        # The rows of the given jobs, and the given user's rows besides.
        assert [r.id for r in repos.job_results.list_page(limit=10, offset=0, job_ids=[job.id],
                                                          own_user_id="UBOB").items] == [new.id, mid.id, old.id]
        assert [r.id for r in repos.job_results.list_page(limit=10, offset=0, job_ids=[],
                                                          own_user_id="UBOB").items] == [mid.id]


def test_results_are_counted_by_status(database: Database) -> None:
    job = add_job(database)
    with write(database) as repos:
        assert repos.job_results.count_by_status() == {}
        for _ in range(2):
            repos.job_results.add(new_job_result(job))
        repos.job_results.add(new_job_result(job, status=JobResultStatus.MISSED))
    with read(database) as repos:
        assert repos.job_results.count_by_status() == {JobResultStatus.PENDING: 2, JobResultStatus.MISSED: 1}


# ---------------------------------------------------------------------------------------------- claims, leases


def test_a_claim_takes_pending_results_oldest_first_and_starts_their_lease(database: Database) -> None:
    job = add_job(database)
    with write(database) as repos:
        first = repos.job_results.add(new_job_result(job, created_at=NOW - timedelta(minutes=2)))
        second = repos.job_results.add(new_job_result(job, created_at=NOW - timedelta(minutes=1)))
        repos.job_results.add(new_job_result(job, status=JobResultStatus.MISSED))
    with write(database) as repos:
        [claimed] = repos.job_results.claim(runner_id="host:1:a", clock=clock_at(NOW), lease=LEASE, limit=1)
    assert (claimed.id, claimed.job, claimed.data, claimed.started_at, claimed.dry_run) == (
        first.id, job, {"device": "core-1"}, NOW, False)
    with write(database) as repos:
        rest = repos.job_results.claim(runner_id="host:2:b", clock=clock_at(NOW), lease=LEASE, limit=10)
        assert repos.job_results.claim(runner_id="host:2:b", clock=clock_at(NOW), lease=LEASE, limit=10) == []
    assert [c.id for c in rest] == [second.id]
    with read(database) as repos:
        running = repos.job_results.get(first.id)
        assert repos.job_results.runners_of_unfinished("host:") == {first.id: "host:1:a", second.id: "host:2:b"}
    assert running is not None and running.status is JobResultStatus.RUNNING and running.started_at == NOW


def test_a_pinned_result_is_claimed_only_by_its_runner(database: Database) -> None:
    job = add_job(database)
    with write(database) as repos:
        pinned = repos.job_results.add(new_job_result(job, data=None, runner_id="web:1:a",
                                                      lease_expires_at=NOW + timedelta(minutes=10)))
        free = repos.job_results.add(new_job_result(job, created_at=NOW + timedelta(seconds=1)))
    with write(database) as repos:
        assert [c.id for c in repos.job_results.claim(runner_id="web:1:a", clock=clock_at(NOW), lease=LEASE,
                                                      limit=10, pinned_only=True)] == [pinned.id]
    with write(database) as repos:
        repos.job_results.add(new_job_result(job, data=None, runner_id="web:1:a"))
        others = repos.job_results.claim(runner_id="worker:2:b", clock=clock_at(NOW), lease=LEASE, limit=10)
    assert [c.id for c in others] == [free.id]


def test_a_claim_says_when_the_scheduled_job_was_cancelled(database: Database) -> None:
    job = add_job(database)
    with write(database) as repos:
        scheduled = repos.scheduled_jobs.add(new_scheduled_job(job))
        repos.job_results.insert_slots([new_job_result(job, scheduled_job_id=scheduled.id, scheduled_for=NOW)])
        repos.scheduled_jobs.end(scheduled.id, reason=EndReason.CANCELLED, ended_by_id="UALICE", now=NOW)
    with write(database) as repos:
        [claimed] = repos.job_results.claim(runner_id="r", clock=clock_at(NOW), lease=LEASE, limit=10)
    assert claimed.scheduled_job_cancelled and claimed.scheduled_job_id == scheduled.id
    assert claimed.scheduled_for == NOW


def test_concurrent_claims_never_take_a_result_twice(database: Database) -> None:
    job = add_job(database)
    with write(database) as repos:
        for i in range(40):
            repos.job_results.add(new_job_result(job, created_at=NOW + timedelta(milliseconds=i)))
    barrier = threading.Barrier(4)
    taken: list[str] = []
    lock = threading.Lock()

    def claim(runner_id: str) -> None:
        barrier.wait()
        while True:
            with write(database) as repos:
                claimed = repos.job_results.claim(runner_id=runner_id, clock=clock_at(NOW), lease=LEASE, limit=3)
            if not claimed:
                return
            with lock:
                taken.extend(c.id for c in claimed)

    threads = [threading.Thread(target=claim, args=(f"r{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(taken) == len(set(taken)) == 40


def test_only_the_holder_renews_its_leases(database: Database) -> None:
    job = add_job(database)
    with write(database) as repos:
        ids = [repos.job_results.add(new_job_result(job)).id for _ in range(2)]
        repos.job_results.claim(runner_id="me", clock=clock_at(NOW), lease=LEASE, limit=1)
    with write(database) as repos:
        assert repos.job_results.renew_leases(ids, runner_id="me", lease_until=NOW + timedelta(hours=1)) == 1
        assert repos.job_results.renew_leases(ids, runner_id="someone else", lease_until=NOW + timedelta(hours=1)) == 0
        assert repos.job_results.renew_leases([], runner_id="me", lease_until=NOW) == 0
    with write(database) as repos:  # the renewed lease outlives the first one
        assert repos.job_results.fail_expired(now=NOW + timedelta(minutes=5), error="interrupted") == []


# --------------------------------------------------------------------------------------------------- outcomes


def test_only_the_holder_records_the_outcome_and_only_once(database: Database) -> None:
    job = add_job(database)
    with write(database) as repos:
        added = repos.job_results.add(new_job_result(job))
        repos.job_results.claim(runner_id="me", clock=clock_at(NOW), lease=LEASE, limit=1)
    done = NOW + timedelta(seconds=3)
    with write(database) as repos:
        assert not repos.job_results.complete(added.id, runner_id="other", status=JobResultStatus.COMPLETED, now=done)
        assert repos.job_results.complete(added.id, runner_id="me", status=JobResultStatus.FAILED, now=done,
                                          error="boom")
        assert not repos.job_results.complete(added.id, runner_id="me", status=JobResultStatus.COMPLETED, now=done)
    with read(database) as repos:
        found = repos.job_results.get(added.id)
    assert found is not None and (found.status, found.completed_at, found.error) == (JobResultStatus.FAILED, done,
                                                                                     "boom")


def test_a_pending_result_is_never_completed(database: Database) -> None:
    job = add_job(database)
    with write(database) as repos:
        pinned = repos.job_results.add(new_job_result(job, runner_id="me"))
        assert not repos.job_results.complete(pinned.id, runner_id="me", status=JobResultStatus.ERRORED, now=NOW)


@pytest.mark.parametrize("status", [JobResultStatus.PENDING, JobResultStatus.RUNNING, JobResultStatus.MISSED])
def test_an_outcome_must_be_one_the_state_machine_allows(database: Database, status: JobResultStatus) -> None:
    with write(database) as repos, pytest.raises(ValueError, match="cannot become"):
        repos.job_results.complete("00000000-0000-4000-8000-000000000000", runner_id="me", status=status, now=NOW)


def test_expired_leases_are_errored_and_final_results_are_left_alone(database: Database) -> None:
    job = add_job(database)
    with write(database) as repos:
        running = repos.job_results.add(new_job_result(job, created_at=NOW - timedelta(seconds=2)))
        finished = repos.job_results.add(new_job_result(job, created_at=NOW - timedelta(seconds=1)))
        repos.job_results.claim(runner_id="dead", clock=clock_at(NOW), lease=LEASE, limit=2)
        repos.job_results.complete(finished.id, runner_id="dead", status=JobResultStatus.COMPLETED, now=NOW)
        handover = repos.job_results.add(new_job_result(job, runner_id="web", lease_expires_at=NOW + LEASE))
        fresh = repos.job_results.add(new_job_result(job, runner_id="web", lease_expires_at=NOW + 2 * LEASE))
    with write(database) as repos:
        assert repos.job_results.fail_expired(now=NOW + LEASE, error="interrupted") == []  # not yet expired
        failed = repos.job_results.fail_expired(now=NOW + LEASE + timedelta(seconds=1), error="interrupted")
    assert sorted(r.id for r in failed) == sorted([running.id, handover.id])
    assert {(r.status, r.error, r.completed_at) for r in failed} == {
        (JobResultStatus.ERRORED, "interrupted", NOW + LEASE + timedelta(seconds=1))}
    with read(database) as repos:
        assert repos.job_results.get(finished.id).status is JobResultStatus.COMPLETED  # type: ignore[union-attr]
        assert repos.job_results.get(fresh.id).status is JobResultStatus.PENDING  # type: ignore[union-attr]


def test_a_runner_that_stops_errors_what_it_holds(database: Database) -> None:
    job = add_job(database)
    with write(database) as repos:
        held = repos.job_results.add(new_job_result(job))
        repos.job_results.claim(runner_id="me", clock=clock_at(NOW), lease=LEASE, limit=1)
        pinned = repos.job_results.add(new_job_result(job, runner_id="me"))
        theirs = repos.job_results.add(new_job_result(job, runner_id="them"))
    with write(database) as repos:
        failed = repos.job_results.fail_held(runner_id="me", now=NOW, error="shut down")
    assert sorted(r.id for r in failed) == sorted([held.id, pinned.id])
    assert {r.status for r in failed} == {JobResultStatus.ERRORED}
    with read(database) as repos:
        assert repos.job_results.get(theirs.id).status is JobResultStatus.PENDING  # type: ignore[union-attr]


def test_the_results_of_a_dead_runner_are_errored_by_id(database: Database) -> None:
    job = add_job(database)
    with write(database) as repos:
        mine = [repos.job_results.add(new_job_result(job, runner_id="host:9:dead")).id for _ in range(2)]
        other = repos.job_results.add(new_job_result(job, runner_id="host:8:alive")).id
    with write(database) as repos:
        failed = repos.job_results.fail_unfinished([*mine, other], runner_id="host:9:dead", now=NOW, error="gone")
        assert repos.job_results.fail_unfinished([], runner_id="host:9:dead", now=NOW, error="gone") == []
        assert repos.job_results.fail_unfinished(mine, runner_id="host:9:dead", now=NOW, error="gone") == []
    assert sorted(r.id for r in failed) == sorted(mine)
    assert {(r.status, r.error) for r in failed} == {(JobResultStatus.ERRORED, "gone")}


def test_runners_of_unfinished_results_match_a_literal_prefix(database: Database) -> None:
    job = add_job(database)
    with write(database) as repos:
        a = repos.job_results.add(new_job_result(job, runner_id="web_1:10:a")).id
        repos.job_results.add(new_job_result(job, runner_id="webX1:11:b"))  # "_" is not a wildcard
        done = repos.job_results.add(new_job_result(job, created_at=NOW + timedelta(seconds=1))).id
        repos.job_results.add(new_job_result(job, status=JobResultStatus.MISSED, runner_id="web_1:12:c"))
    with write(database) as repos:
        [claimed] = repos.job_results.claim(runner_id="web_1:13:d", clock=clock_at(NOW), lease=LEASE, limit=10)
        repos.job_results.complete(claimed.id, runner_id="web_1:13:d", status=JobResultStatus.COMPLETED, now=NOW)
    assert claimed.id == done
    with read(database) as repos:
        assert repos.job_results.runners_of_unfinished("web_1:") == {a: "web_1:10:a"}
