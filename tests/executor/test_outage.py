"""Outcomes survive a short database outage at the moment a run ends.

The database is made unavailable from another connection (SQLite: its write lock, held; PostgreSQL: an ACCESS
EXCLUSIVE lock on ``job_results``, held; the server is shared, so it is never stopped) while the run finishes, and
the clock moves on past the run's lease meanwhile. The process under test waits at most 0.2 s for a lock, so its
writes fail as they would against an unreachable database: recording the outcome, renewing the lease and reaping
all fail. Once the database is back, the run must end ``completed`` with its log and output, recorded once and
announced once, not ``errored`` "interrupted" by this process's own reaper.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.background import Background, Timings
from bot.config import Settings
from bot.domain.outbox import OutboxKind
from bot.domain.permissions import Policy
from bot.domain.results import JobResultStatus
from storage.db import Database, read_tables
from tests.conftest import ALICE, build_test_core
from tests.executor.conftest import job_results_held
from tests.test_serve import wait_for

LEASE = timedelta(seconds=60)  # the heartbeat (every 20 s) stays out of the few seconds this takes


def impatient(url: str) -> Database:
    """The database as the process under test sees it: it waits 0.2 s for a lock, then its statement fails."""
    if url.startswith("sqlite"):
        return Database.from_url(url, sqlite_busy_timeout_ms=200)
    return Database.from_url(url, connect_args={"options": "-c lock_timeout=200"})


def failed_writes(caplog: pytest.LogCaptureFixture) -> int:
    return sum("recording 1 run outcomes failed" in r.getMessage() for r in caplog.records)


def test_a_run_ending_during_a_database_outage_longer_than_its_lease_is_recorded_completed_once(
    database_url: str, database: Database, settings: Settings, policy: Policy, caplog: pytest.LogCaptureFixture
) -> None:
    db = impatient(database_url)
    core = build_test_core(db, settings, policy)
    shift = [timedelta(0)]  # the outage lasts longer than the lease: the clock moves on by more than one lease

    def clock() -> datetime:
        return datetime.now(UTC) + shift[0]

    timings = Timings(workers=1, lease=LEASE, claim_poll=timedelta(seconds=0.2), reap_every=timedelta(seconds=0.1))
    background = Background(core, clock=clock, timings=timings)
    background.start()
    try:
        outcome = core.services.requests.request_job(actor=ALICE, job="crashjobs.ReportingJob", data={"seconds": 1})
        assert outcome.job_result is not None
        job_result_id = outcome.job_result.id
        wait_for(lambda: background.health()["executor"]["local"]["busy"] == 1, timeout=20,
                   what="the run to start")
        with job_results_held(database_url, reads_too=True):  # the outage
            # The run ends while the database is away: writing its outcome fails, and its lease runs out. The
            # outage lasts until the outcome's writes have failed a few times (each wait before the next try is
            # longer) and the reaper found the database away too; it ends right after a failed write.
            wait_for(lambda: failed_writes(caplog) >= 1, timeout=20, what="the outcome's first write to fail")
            shift[0] = 2 * LEASE
            wait_for(lambda: failed_writes(caplog) >= 6 and any("_reap failed" in r.getMessage()
                                                                  for r in caplog.records),
                       timeout=30, what="the outcome's writes and the reaper to fail for a while")
            before = failed_writes(caplog)
            wait_for(lambda: failed_writes(caplog) > before, timeout=10, what="one more failed write")
        # The database is back; the outcome is still in memory, its lease expired.
        wait_for(lambda: background.health()["executor"]["local"]["recorded"] == 1, timeout=20,
                   what="the outcome to be recorded")
        assert background.health()["executor"]["local"]["unrecorded"] == 0
    finally:
        background.stop()
        db.dispose()
    tables = read_tables(database.engine, "job_results", "job_log_entries", "outbox")
    [row] = [r for r in tables["job_results"] if r["id"] == job_result_id]
    assert (row["status"], row["error"]) == (JobResultStatus.COMPLETED.value, None)
    assert row["output"] is not None and "42" in str(row["output"])
    log = [e["message"] for e in tables["job_log_entries"] if e["job_result_id"] == job_result_id]
    assert "user=UALICE commit=True" in log and "nice=10" in log
    assert len(log) == len(set(log))  # recorded once
    told = [m for m in tables["outbox"] if m["kind"] == OutboxKind.RUN_FINISHED.value and m["ref_id"] == job_result_id]
    assert len(told) == 1
