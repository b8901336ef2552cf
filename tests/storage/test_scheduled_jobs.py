"""ScheduledJobRepository on real databases: adding, reading, paging, the compare-and-set changes (decide, end,
pause, resume) with their RETURNING results, and the dispatcher's queries (lock_due, advance_many, earliest_due)."""

from __future__ import annotations

import gc
import threading
from datetime import UTC, datetime, timedelta

import psycopg
from sqlalchemy import event, update
from sqlalchemy.engine import make_url

from bot.domain.approvals import ApprovalState
from bot.domain.dispatch import MisfirePolicy
from bot.domain.records import EndReason
from bot.domain.schedules import IntervalType, Schedule
from storage.db import Database
from storage.models import ScheduledJobRow
from storage.repositories import WAKEUP_CHANNEL, Advance
from tests.storage.conftest import NOW, add_job, new_scheduled_job, pending_request, read, write

LATER = NOW + timedelta(minutes=5)


# ------------------------------------------------------------------------------------------------------- adding


def test_a_new_scheduled_job_is_returned_as_stored(database: Database) -> None:
    job = add_job(database)
    with write(database) as repos:
        added = repos.scheduled_jobs.add(new_scheduled_job(job, data={"device": "core-1", "n": 2}))
    assert added.job == job and added.user_id == "UALICE" and added.name == "Backup hourly"
    assert (added.interval, added.start_time, added.crontab, added.time_zone) == (
        IntervalType.HOURLY, NOW + timedelta(hours=1), None, "Europe/Zurich")
    assert added.data == {"device": "core-1", "n": 2} and added.commit
    assert added.approval_state is ApprovalState.NOT_REQUIRED and not added.approval_required
    assert added.enabled and not added.paused and added.end_reason is None
    assert added.next_run_at == NOW + timedelta(hours=1) and added.total_run_count == 0 and added.last_run_at is None
    assert added.created_at == NOW and added.decided_by_id is None
    with read(database) as repos:
        assert repos.scheduled_jobs.get(added.id) == added


def test_many_are_added_in_one_statement_and_their_ids_come_back_in_order(database: Database) -> None:
    job = add_job(database)
    new = [new_scheduled_job(job, name=f"n{i}", start=NOW + timedelta(minutes=i)) for i in range(3)]
    with write(database) as repos:
        ids = repos.scheduled_jobs.add_many(new)
        assert repos.scheduled_jobs.add_many([]) == []
    with read(database) as repos:
        found = [repos.scheduled_jobs.get(i) for i in ids]
    assert [(f.name, f.next_run_at, f.enabled) for f in found if f] == [
        (f"n{i}", NOW + timedelta(minutes=i), True) for i in range(3)]


def test_get_answers_none_for_an_unknown_or_malformed_id(database: Database) -> None:
    with read(database) as repos:
        assert repos.scheduled_jobs.get("00000000-0000-4000-8000-000000000000") is None
        assert repos.scheduled_jobs.get("not-a-uuid") is None


def test_a_scheduled_job_whose_job_was_deleted_has_no_job(database: Database) -> None:
    job = add_job(database)
    with write(database) as repos:
        added = repos.scheduled_jobs.add(new_scheduled_job(job))
    with database.write() as session:
        session.execute(update(ScheduledJobRow).where(ScheduledJobRow.id == added.id).values(job_id=None))
    with read(database) as repos:
        found = repos.scheduled_jobs.get(added.id)
    assert found is not None and found.job is None


# ----------------------------------------------------------------------------------------------------- deciding


def test_the_first_decision_wins_and_returns_the_row_as_written(database: Database) -> None:
    job = add_job(database)
    with write(database) as repos:
        request = repos.scheduled_jobs.add(pending_request(job))
    with write(database) as repos:
        repos.scheduled_jobs.get(request.id)  # the services read first: the job then comes from the session
        approved = repos.scheduled_jobs.decide(
            request.id, approval_state=ApprovalState.APPROVED, decided_by_id="UAPPROVER", decided_at=LATER,
            reason=None, next_run_at=NOW + timedelta(hours=1), end=False,
        )
        second = repos.scheduled_jobs.decide(
            request.id, approval_state=ApprovalState.DENIED, decided_by_id="UAPPROVER2", decided_at=LATER,
            reason="late", next_run_at=None, end=True,
        )
    assert second is None
    assert approved is not None and approved.job == job
    assert (approved.approval_state, approved.decided_by_id, approved.decided_at, approved.next_run_at) == (
        ApprovalState.APPROVED, "UAPPROVER", LATER, NOW + timedelta(hours=1))
    assert approved.enabled and approved.end_reason is None
    with read(database) as repos:
        assert repos.scheduled_jobs.get(request.id) == approved


def test_a_decision_after_a_read_is_one_select_and_one_update(database: Database) -> None:
    """Approving is benchmarked: the row it returns must not cost a read-back (nor a second look at the job)."""
    job = add_job(database)
    with write(database) as repos:
        request = repos.scheduled_jobs.add(pending_request(job))
    statements: list[str] = []

    def capture(_conn: object, _cursor: object, statement: str, *_rest: object) -> None:
        if not statement.startswith("BEGIN"):
            statements.append(statement.split()[0])

    with write(database) as repos:
        event.listen(database.engine, "before_cursor_execute", capture)
        try:
            repos.scheduled_jobs.get(request.id)
            gc.collect()  # the session holds rows weakly: the job must still be found without a SELECT
            approved = repos.scheduled_jobs.decide(
                request.id, approval_state=ApprovalState.APPROVED, decided_by_id="UAPPROVER", decided_at=LATER,
                reason=None, next_run_at=LATER, end=False,
            )
        finally:
            event.remove(database.engine, "before_cursor_execute", capture)
    assert statements == ["SELECT", "UPDATE"]
    assert approved is not None and approved.job == job


def test_a_denial_ends_the_request_for_the_record(database: Database) -> None:
    job = add_job(database)
    with write(database) as repos:
        request = repos.scheduled_jobs.add(pending_request(job))
        denied = repos.scheduled_jobs.decide(
            request.id, approval_state=ApprovalState.DENIED, decided_by_id="UAPPROVER", decided_at=LATER,
            reason="not now", next_run_at=None, end=True,
        )
    assert denied is not None
    assert (denied.approval_state, denied.decision_reason, denied.enabled, denied.end_reason, denied.ended_at,
            denied.ended_by_id) == (ApprovalState.DENIED, "not now", False, EndReason.DENIED, LATER, "UAPPROVER")
    with read(database) as repos:
        assert repos.scheduled_jobs.get(request.id) == denied


def test_a_request_that_is_not_pending_or_was_cancelled_cannot_be_decided(database: Database) -> None:
    job = add_job(database)
    with write(database) as repos:
        active = repos.scheduled_jobs.add(new_scheduled_job(job))
        cancelled = repos.scheduled_jobs.add(pending_request(job))
        assert repos.scheduled_jobs.end(cancelled.id, reason=EndReason.CANCELLED, ended_by_id="UALICE", now=NOW)
        for scheduled_job_id in (active.id, cancelled.id):
            assert repos.scheduled_jobs.decide(
                scheduled_job_id, approval_state=ApprovalState.APPROVED, decided_by_id="UAPPROVER", decided_at=LATER,
                reason=None, next_run_at=LATER, end=False,
            ) is None


def test_two_approvers_racing_have_exactly_one_winner(database: Database) -> None:
    job = add_job(database)
    with write(database) as repos:
        request = repos.scheduled_jobs.add(pending_request(job))
    barrier = threading.Barrier(4)
    outcomes: list[object] = []

    def approve(approver: str) -> None:
        barrier.wait()
        with write(database) as repos:
            outcomes.append(repos.scheduled_jobs.decide(
                request.id, approval_state=ApprovalState.APPROVED, decided_by_id=approver, decided_at=LATER,
                reason=None, next_run_at=LATER, end=False,
            ))

    threads = [threading.Thread(target=approve, args=(f"UAPPROVER{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [o for o in outcomes if o is not None]
    assert len(outcomes) == 4 and len(winners) == 1
    with read(database) as repos:
        assert repos.scheduled_jobs.get(request.id) == winners[0]


# ------------------------------------------------------------------------------------- ending, pausing, resuming


def test_an_ended_scheduled_job_is_kept_and_cannot_end_twice(database: Database) -> None:
    job = add_job(database)
    with write(database) as repos:
        added = repos.scheduled_jobs.add(new_scheduled_job(job))
        ended = repos.scheduled_jobs.end(added.id, reason=EndReason.CANCELLED, ended_by_id="UBOB", now=LATER)
        again = repos.scheduled_jobs.end(added.id, reason=EndReason.CANCELLED, ended_by_id="UBOB", now=LATER)
    assert again is None
    assert ended is not None
    assert (ended.enabled, ended.next_run_at, ended.end_reason, ended.ended_at, ended.ended_by_id) == (
        False, None, EndReason.CANCELLED, LATER, "UBOB")
    with read(database) as repos:
        assert repos.scheduled_jobs.get(added.id) == ended


def test_pause_and_resume_change_only_an_active_job_in_the_other_state(database: Database) -> None:
    job = add_job(database)
    with write(database) as repos:
        added = repos.scheduled_jobs.add(new_scheduled_job(job))
        paused = repos.scheduled_jobs.set_paused(added.id, paused=True, next_run_at=None, now=LATER)
        assert repos.scheduled_jobs.set_paused(added.id, paused=True, next_run_at=None, now=LATER) is None
    assert paused is not None and paused.paused and paused.next_run_at == added.next_run_at  # kept while paused
    resume_at = NOW + timedelta(hours=3)
    with write(database) as repos:
        resumed = repos.scheduled_jobs.set_paused(added.id, paused=False, next_run_at=resume_at, now=LATER)
        assert repos.scheduled_jobs.set_paused(added.id, paused=False, next_run_at=resume_at, now=LATER) is None
        repos.scheduled_jobs.end(added.id, reason=EndReason.CANCELLED, ended_by_id=None, now=LATER)
        assert repos.scheduled_jobs.set_paused(added.id, paused=True, next_run_at=None, now=LATER) is None
    assert resumed is not None and not resumed.paused and resumed.next_run_at == resume_at


def test_set_next_run_moves_active_jobs_only(database: Database) -> None:
    job = add_job(database)
    with write(database) as repos:
        active = repos.scheduled_jobs.add(new_scheduled_job(job))
        ended = repos.scheduled_jobs.add(new_scheduled_job(job))
        repos.scheduled_jobs.end(ended.id, reason=EndReason.CANCELLED, ended_by_id=None, now=NOW)
        assert repos.scheduled_jobs.set_next_run([active.id, ended.id], next_run_at=LATER, now=NOW) == 1
        assert repos.scheduled_jobs.set_next_run([], next_run_at=LATER, now=NOW) == 0
    with read(database) as repos:
        assert [repos.scheduled_jobs.get(i).next_run_at for i in (active.id, ended.id)] == [  # type: ignore[union-attr]
            LATER, None]


# ------------------------------------------------------------------------------------------------------ listing


def test_the_approval_queue_holds_active_pending_requests_by_start(database: Database) -> None:
    job, other = add_job(database, "jobs.Backup"), add_job(database, "jobs.Restore")
    with write(database) as repos:
        late = repos.scheduled_jobs.add(pending_request(job, start=NOW + timedelta(hours=2)))
        early = repos.scheduled_jobs.add(pending_request(other, start=NOW + timedelta(hours=1)))
        withdrawn = repos.scheduled_jobs.add(pending_request(job))
        repos.scheduled_jobs.end(withdrawn.id, reason=EndReason.CANCELLED, ended_by_id="UALICE", now=NOW)
        repos.scheduled_jobs.add(new_scheduled_job(job))  # needs no approval
    with read(database) as repos:
        queue = repos.scheduled_jobs.list_queue(limit=10, offset=0)
        assert (queue.count, [r.id for r in queue.items]) == (2, [early.id, late.id])
        page = repos.scheduled_jobs.list_queue(limit=1, offset=1)
        assert (page.count, [r.id for r in page.items]) == (2, [late.id])
        mine = repos.scheduled_jobs.list_queue(limit=10, offset=0, job_ids=[job.id])
        assert [r.id for r in mine.items] == [late.id]
        assert repos.scheduled_jobs.list_queue(limit=10, offset=0, job_ids=[]).count == 0


def test_the_active_listing_is_soonest_first_with_waiting_requests_last(database: Database) -> None:
    job, other = add_job(database, "jobs.Backup"), add_job(database, "jobs.Restore")
    with write(database) as repos:
        waiting = repos.scheduled_jobs.add(pending_request(job, user_id="UBOB"))
        soon = repos.scheduled_jobs.add(new_scheduled_job(other, start=NOW + timedelta(minutes=10)))
        later = repos.scheduled_jobs.add(new_scheduled_job(job, start=NOW + timedelta(hours=5)))
        gone = repos.scheduled_jobs.add(new_scheduled_job(job, start=NOW + timedelta(minutes=1)))
        repos.scheduled_jobs.end(gone.id, reason=EndReason.FINISHED, ended_by_id=None, now=NOW)
    with read(database) as repos:
        listing = repos.scheduled_jobs.list_active(limit=10, offset=0)
        assert (listing.count, [r.id for r in listing.items]) == (3, [soon.id, later.id, waiting.id])
        assert [r.id for r in repos.scheduled_jobs.list_active(limit=2, offset=1).items] == [later.id, waiting.id]
        assert [r.id for r in repos.scheduled_jobs.list_active(limit=10, offset=0, job_ids=[job.id]).items] == [
            later.id, waiting.id]
        pending = repos.scheduled_jobs.list_active(limit=10, offset=0, approval_state=ApprovalState.PENDING)
        assert [r.id for r in pending.items] == [waiting.id]
        assert [r.id for r in repos.scheduled_jobs.list_active(limit=10, offset=0, user_id="UBOB").items] == [
            waiting.id]


# -------------------------------------------------------------------------------------------------- dispatching


def test_lock_due_returns_active_due_jobs_oldest_first_with_what_the_dispatcher_needs(database: Database) -> None:
    job = add_job(database, "jobs.Backup", name="Backup")
    with write(database) as repos:
        second = repos.scheduled_jobs.add(new_scheduled_job(job, start=NOW - timedelta(minutes=1)))
        first = repos.scheduled_jobs.add(new_scheduled_job(
            job, start=NOW - timedelta(minutes=2), misfire_policy=MisfirePolicy.SKIP, commit=False,
            schedule=Schedule(interval=IntervalType.CUSTOM, start_time=NOW - timedelta(minutes=2), time_zone="UTC",
                              crontab="*/5 * * * *", name="every five")))
        repos.scheduled_jobs.add(new_scheduled_job(job, start=NOW + timedelta(minutes=1)))  # not due
        paused = repos.scheduled_jobs.add(new_scheduled_job(job, start=NOW - timedelta(minutes=3)))
        repos.scheduled_jobs.set_paused(paused.id, paused=True, next_run_at=None, now=NOW)
        ended = repos.scheduled_jobs.add(new_scheduled_job(job, start=NOW - timedelta(minutes=3)))
        repos.scheduled_jobs.end(ended.id, reason=EndReason.CANCELLED, ended_by_id=None, now=NOW)
        repos.scheduled_jobs.add(pending_request(job, start=NOW - timedelta(minutes=3)))  # not approved
    with write(database) as repos:
        due = repos.scheduled_jobs.lock_due(NOW, limit=10)
        assert [d.id for d in repos.scheduled_jobs.lock_due(NOW, limit=1)] == [first.id]
    assert [d.id for d in due] == [first.id, second.id]
    lead = due[0]
    assert (lead.job_id, lead.job_name, lead.user_id, lead.interval, lead.crontab, lead.time_zone, lead.commit,
            lead.next_run_at, lead.misfire_policy, lead.data) == (
        job.id, "Backup", "UALICE", IntervalType.CUSTOM, "*/5 * * * *", "UTC", False, NOW - timedelta(minutes=2),
        MisfirePolicy.SKIP, {"device": "core-1"})
    assert due[1].misfire_policy is MisfirePolicy.RUN_ONCE


def test_an_unknown_misfire_policy_is_read_as_the_default(database: Database) -> None:
    job = add_job(database)
    with write(database) as repos:
        added = repos.scheduled_jobs.add(new_scheduled_job(job, start=NOW))
    with database.write() as session:
        session.execute(update(ScheduledJobRow).where(ScheduledJobRow.id == added.id).values(misfire_policy="later"))
    with write(database) as repos:
        [due] = repos.scheduled_jobs.lock_due(NOW, limit=10)
    assert due.misfire_policy is MisfirePolicy.RUN_ONCE


def test_advance_many_moves_only_rows_still_at_the_due_time_handled(database: Database) -> None:
    job = add_job(database)
    with write(database) as repos:
        hourly = repos.scheduled_jobs.add(new_scheduled_job(job, start=NOW))
        once = repos.scheduled_jobs.add(new_scheduled_job(
            job, start=NOW, schedule=Schedule(interval=IntervalType.FUTURE, start_time=NOW, time_zone="UTC", name="x")))
        moved = repos.scheduled_jobs.add(new_scheduled_job(job, start=NOW))
        missed = repos.scheduled_jobs.add(new_scheduled_job(job, start=NOW))
        repos.scheduled_jobs.set_next_run([moved.id], next_run_at=NOW + timedelta(minutes=30), now=NOW)
        count = repos.scheduled_jobs.advance_many([
            Advance(scheduled_job_id=hourly.id, due_at=NOW, next_run_at=NOW + timedelta(hours=1), last_slot_at=NOW,
                    ran_at=NOW),
            Advance(scheduled_job_id=once.id, due_at=NOW, next_run_at=None, last_slot_at=NOW, ran_at=NOW),
            Advance(scheduled_job_id=moved.id, due_at=NOW, next_run_at=NOW + timedelta(hours=1), last_slot_at=NOW,
                    ran_at=NOW),
            Advance(scheduled_job_id=missed.id, due_at=NOW, next_run_at=NOW + timedelta(hours=1), last_slot_at=NOW,
                    ran_at=None),
        ], now=LATER)
        assert repos.scheduled_jobs.advance_many([], now=LATER) == 0
    assert count == 3
    with read(database) as repos:
        h, o, m, x = (repos.scheduled_jobs.get(i) for i in (hourly.id, once.id, moved.id, missed.id))
    assert h and (h.next_run_at, h.last_run_at, h.total_run_count, h.enabled) == (
        NOW + timedelta(hours=1), NOW, 1, True)
    assert o and (o.next_run_at, o.enabled, o.end_reason, o.ended_at, o.total_run_count) == (
        None, False, EndReason.FINISHED, LATER, 1)
    assert m and (m.next_run_at, m.total_run_count) == (NOW + timedelta(minutes=30), 0)  # it had moved: left alone
    assert x and (x.next_run_at, x.last_run_at, x.total_run_count) == (NOW + timedelta(hours=1), None, 0)


def test_advance_each_moves_and_names_only_rows_still_due_unpaused_and_enabled(database: Database) -> None:
    job = add_job(database)
    with write(database) as repos:
        due = repos.scheduled_jobs.add(new_scheduled_job(job, start=NOW))
        moved = repos.scheduled_jobs.add(new_scheduled_job(job, start=NOW))
        paused = repos.scheduled_jobs.add(new_scheduled_job(job, start=NOW))
        repos.scheduled_jobs.set_next_run([moved.id], next_run_at=NOW + timedelta(minutes=30), now=NOW)
        repos.scheduled_jobs.set_paused(paused.id, paused=True, next_run_at=NOW, now=NOW)
        names = repos.scheduled_jobs.advance_each([
            Advance(scheduled_job_id=i, due_at=NOW, next_run_at=NOW + timedelta(hours=1), last_slot_at=NOW,
                    ran_at=NOW)
            for i in (due.id, moved.id, paused.id, "00000000-0000-0000-0000-000000000000")
        ], now=LATER)
        assert repos.scheduled_jobs.advance_each([], now=LATER) == set()
    assert names == {due.id}
    with read(database) as repos:
        d, m, p = (repos.scheduled_jobs.get(i) for i in (due.id, moved.id, paused.id))
    assert d and (d.next_run_at, d.last_run_at, d.total_run_count) == (NOW + timedelta(hours=1), NOW, 1)
    assert m and (m.next_run_at, m.total_run_count) == (NOW + timedelta(minutes=30), 0)
    assert p and p.total_run_count == 0


def test_earliest_due_is_the_soonest_next_run_of_an_active_unpaused_job(database: Database) -> None:
    job = add_job(database)
    with read(database) as repos:
        assert repos.scheduled_jobs.earliest_due() is None
    with write(database) as repos:
        paused = repos.scheduled_jobs.add(new_scheduled_job(job, start=NOW))
        repos.scheduled_jobs.set_paused(paused.id, paused=True, next_run_at=None, now=NOW)
        repos.scheduled_jobs.add(new_scheduled_job(job, start=NOW + timedelta(minutes=7)))
        repos.scheduled_jobs.add(new_scheduled_job(job, start=NOW + timedelta(minutes=9)))
    with read(database) as repos:
        assert repos.scheduled_jobs.earliest_due() == NOW + timedelta(minutes=7)


def test_the_database_clock_is_an_aware_utc_instant(database: Database) -> None:
    before = datetime.now(UTC)
    with read(database) as repos:
        now = repos.scheduled_jobs.database_now()
    after = datetime.now(UTC)
    assert now.utcoffset() == timedelta(0)
    # The database runs on this machine: its clock reads between the two readings of ours (1 s for rounding).
    assert before - timedelta(seconds=1) <= now <= after + timedelta(seconds=1)


def test_a_wakeup_is_sent_on_commit_on_postgresql_and_is_harmless_on_sqlite(database: Database) -> None:
    if not database.is_postgresql:
        with write(database) as repos:
            repos.scheduled_jobs.notify_wakeup()  # nothing to wake: the dispatcher is in-process
        return
    conninfo = make_url(database.engine.url.render_as_string(hide_password=False)).set(drivername="postgresql")
    with psycopg.connect(conninfo.render_as_string(hide_password=False), autocommit=True) as listener:
        listener.execute(f"LISTEN {WAKEUP_CHANNEL}")
        with write(database) as repos:
            repos.scheduled_jobs.notify_wakeup()
        received = list(listener.notifies(timeout=5, stop_after=1))
    assert [n.channel for n in received] == [WAKEUP_CHANNEL]
