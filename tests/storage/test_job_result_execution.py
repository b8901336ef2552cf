"""JobResultRepository for the execution plane: batch claims in one statement, a claim by id (Celery), group
commits fenced by the runner, runs given back unstarted, and publishing to Celery (once per replica set, again when
lost), on real databases."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.domain.records import FinishedRun, JobRecord, LogRecord
from bot.domain.results import JobResultStatus
from storage.db import Database
from tests.storage.conftest import NOW, add_job, new_job_result, read, write

LEASE = timedelta(seconds=60)


def add_pending(database: Database, count: int, **overrides: object) -> list[str]:
    job = add_job(database, time_limit=30, soft_time_limit=10)
    return add_results(database, job, count, **overrides)


def add_results(database: Database, job: JobRecord, count: int, **overrides: object) -> list[str]:
    ids = []
    with write(database) as repos:
        for i in range(count):
            ids.append(repos.job_results.add(new_job_result(job, created_at=NOW + timedelta(seconds=i),
                                                            **overrides)).id)  # type: ignore[arg-type]
    return ids


def finished(job_result_id: str, status: JobResultStatus = JobResultStatus.COMPLETED,
             **overrides: object) -> FinishedRun:
    values: dict[str, object] = {
        "job_result_id": job_result_id, "status": status, "started_at": NOW + timedelta(seconds=1),
        "completed_at": NOW + timedelta(seconds=2), "error": None, "output": "42",
        "log": (LogRecord(logged_at=NOW, level="info", message="hello"),),
    }
    return FinishedRun(**{**values, **overrides})  # type: ignore[arg-type]


def test_a_batch_claim_takes_the_oldest_pending_results_up_to_the_limit(database: Database) -> None:
    ids = add_pending(database, 5)
    with write(database) as repos:
        claimed = repos.job_results.claim(runner_id="r1", clock=lambda: NOW, lease=LEASE, limit=3)
    assert [c.id for c in claimed] == ids[:3]
    assert all(c.job is not None and c.job.time_limit == 30 and c.started_at == NOW for c in claimed)
    with write(database) as repos:
        assert [c.id for c in repos.job_results.claim(runner_id="r2", clock=lambda: NOW, lease=LEASE, limit=9)] \
            == ids[3:]
        assert repos.job_results.claim(runner_id="r2", clock=lambda: NOW, lease=LEASE, limit=9) == []
    with read(database) as repos:
        runner = {i: repos.job_results.get(i) for i in ids}
    assert {r.status for r in runner.values() if r} == {JobResultStatus.RUNNING}


def test_a_claim_by_id_wins_once(database: Database) -> None:
    [job_result_id] = add_pending(database, 1)
    with write(database) as repos:
        first = repos.job_results.claim_one(job_result_id, runner_id="w1", now=NOW, lease=LEASE)
        again = repos.job_results.claim_one(job_result_id, runner_id="w2", now=NOW, lease=LEASE)
    assert first is not None and first.id == job_result_id and again is None
    assert first.job is not None
    assert (first.job.slug, first.job.time_limit, first.job.enabled) == ("jobs.Backup", 30, True)
    assert first.started_at == NOW and not first.dry_run and first.user_id == "UALICE"
    with write(database) as repos:
        assert repos.job_results.claim_one("not-a-uuid", runner_id="w1", now=NOW, lease=LEASE) is None


def test_runs_claimed_together_from_one_message_carry_the_code_version_they_were_approved_for(
        database: Database) -> None:
    job = add_job(database, time_limit=30)
    approved = add_results(database, job, 2, job_version="a" * 64)
    unpinned = add_results(database, job, 1)
    with write(database) as repos:
        claimed = repos.job_results.claim_batch([*approved, *unpinned], runner_id="w1", now=NOW, lease=LEASE)
    assert [(c.id, c.job_version) for c in claimed] == [
        (approved[0], "a" * 64), (approved[1], "a" * 64), (unpinned[0], None)]


def test_a_result_pinned_to_a_process_is_never_claimed_by_id(database: Database) -> None:
    [job_result_id] = add_pending(database, 1, runner_id="serve-1", lease_expires_at=NOW + LEASE)
    with write(database) as repos:
        assert repos.job_results.claim_one(job_result_id, runner_id="w1", now=NOW, lease=LEASE) is None


def test_a_group_commit_records_only_what_the_runner_still_holds(database: Database) -> None:
    ids = add_pending(database, 3)
    with write(database) as repos:
        repos.job_results.claim(runner_id="r1", clock=lambda: NOW, lease=LEASE, limit=3)
        repos.job_results.fail_unfinished([ids[2]], runner_id="r1", now=NOW, error="interrupted")  # reaped
    with write(database) as repos:
        recorded = repos.job_results.finish(
            [finished(ids[0]), finished(ids[1], JobResultStatus.FAILED, error="boom", output=None, started_at=None),
             finished(ids[2])], runner_id="r1")
    assert recorded == {ids[0], ids[1]}
    with read(database) as repos:
        first, second, third = (repos.job_results.get(i) for i in ids)
    assert first is not None and second is not None and third is not None
    assert (first.status, first.output, first.started_at, first.completed_at) == (
        JobResultStatus.COMPLETED, "42", NOW + timedelta(seconds=1), NOW + timedelta(seconds=2))
    assert [e.message for e in first.log] == ["hello"]
    assert (second.status, second.error, second.started_at) == (JobResultStatus.FAILED, "boom", NOW)  # claim's time
    assert (third.status, third.error, third.log) == (JobResultStatus.ERRORED, "interrupted", ())
    with write(database) as repos:
        assert repos.job_results.finish([finished(ids[0], JobResultStatus.FAILED)], runner_id="r1") == set()
        assert repos.job_results.finish([], runner_id="r1") == set()


def test_a_group_commit_refuses_a_status_that_is_no_outcome(database: Database) -> None:
    [job_result_id] = add_pending(database, 1)
    with write(database) as repos, pytest.raises(ValueError):
        repos.job_results.finish([finished(job_result_id, JobResultStatus.PENDING)], runner_id="r1")


def test_runs_that_never_started_are_given_back(database: Database) -> None:
    ids = add_pending(database, 2)
    with write(database) as repos:
        repos.job_results.claim(runner_id="r1", clock=lambda: NOW, lease=LEASE, limit=2)
        assert repos.job_results.give_back(ids, runner_id="other") == 0
        assert repos.job_results.give_back([ids[0]], runner_id="r1") == 1
    with write(database) as repos:
        [again] = repos.job_results.claim(runner_id="r2", clock=lambda: NOW, lease=LEASE, limit=5)
    assert again.id == ids[0]


def test_each_pending_result_is_published_once_and_again_only_when_its_message_was_lost(database: Database) -> None:
    job = add_job(database, time_limit=30, soft_time_limit=10)
    ids = add_results(database, job, 3)
    pinned = add_results(database, job, 1, runner_id="serve-1", lease_expires_at=NOW + LEASE)
    with write(database) as repos:
        first = repos.job_results.take_to_publish(now=NOW, limit=2)
        second = repos.job_results.take_to_publish(now=NOW, limit=10)
        none_left = repos.job_results.take_to_publish(now=NOW, limit=10)
    assert [h.id for h in first] == ids[:2] and [h.id for h in second] == ids[2:] and none_left == []
    assert (first[0].soft_time_limit, first[0].time_limit) == (10, 30)
    with write(database) as repos:
        repos.job_results.claim_one(ids[0], runner_id="w1", now=NOW, lease=LEASE)  # ran: never published again
        assert repos.job_results.take_to_publish(now=NOW + timedelta(seconds=30), limit=10,
                                          again_before=NOW) == []  # not lost yet
        lost = repos.job_results.take_to_publish(now=NOW + timedelta(seconds=90), limit=10,
                                          again_before=NOW + timedelta(seconds=30))
    assert sorted(h.id for h in lost) == sorted(ids[1:])
    assert pinned[0] not in {h.id for h in first + second + lost}
    with write(database) as repos:
        assert repos.job_results.mark_unpublished([ids[1]]) == 1
        assert [h.id for h in repos.job_results.take_to_publish(now=NOW, limit=10)] == [ids[1]]
