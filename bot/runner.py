"""The runner: executes pending job results, at most once each, and records their outcome and log.

A run is claimed by compare-and-set (pending → running, runner id, lease), kept alive by a heartbeat, and completed
only while this runner still holds it, so a process presumed dead can never overwrite an outcome. A reaper marks runs
whose lease expired as ``errored`` ("interrupted"); they are not retried. Each run executes in its own thread, as the
requester, with ``commit=False`` for dry runs; ``Meta.soft_time_limit`` raises ``SoftTimeLimitExceeded`` inside the job
and ``Meta.time_limit`` abandons it as ``errored``. Must not import Slack or handlers.
"""

from __future__ import annotations

import ctypes
import logging
import os
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.domain import requests
from bot.domain.outbox import OutboxKind, OutboxMessage
from bot.domain.records import LogRecord, ObjectType
from bot.domain.results import JobResultStatus
from bot.jobs import Job, LogEntry, LogLevel, SoftTimeLimitExceeded
from bot.registry import JobCatalog
from bot.transient import SensitiveHandover
from storage.db import Database
from storage.repositories import ClaimedJobResult, Repositories

log = logging.getLogger(__name__)

INTERRUPTED = "interrupted: the process running it stopped"
SHUTDOWN_INTERRUPTED = "interrupted: the server stopped before the job finished"
INTERRUPTED_MESSAGE = "Interrupted: the process running this job stopped before it finished; it was not retried."
SHUTDOWN_INTERRUPTED_MESSAGE = "Interrupted: the server stopped before the job finished."
DEFAULT_LEASE = timedelta(seconds=60)


@dataclass
class _Running:
    claimed: ClaimedJobResult
    thread: threading.Thread
    started: float
    soft_limit: float | None
    hard_limit: float | None
    soft_raised: bool = False
    job: Job | None = field(default=None)


@dataclass(frozen=True)
class RunOutcome:
    """How one run ended."""

    job_result_id: str
    status: JobResultStatus
    recorded: bool


class Runner:
    """Claims and executes job results.

    Args:
        db: the database.
        catalog: the job classes this process can run.
        runner_id: this runner's identity (``SensitiveHandover.runner_id``: runs of sensitive jobs are pinned to it).
        transient: where the data of sensitive runs waits in memory.
        workers: how many jobs run at once.
        lease: how long a claim lasts without a heartbeat.
        clock: where ``now`` comes from.
        on_finished: called after each run is recorded (wakes the notifier and the runner loop).
        pinned_only: claim only the runs pinned to this process (a web-only replica runs just its sensitive ones).
    """

    def __init__(
        self,
        db: Database,
        catalog: JobCatalog,
        *,
        runner_id: str,
        transient: SensitiveHandover,
        workers: int = 8,
        lease: timedelta = DEFAULT_LEASE,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        on_finished: Callable[[], None] | None = None,
        pinned_only: bool = False,
    ) -> None:
        self.db = db
        self.pinned_only = pinned_only
        self.catalog = catalog
        self.runner_id = runner_id
        self.transient = transient
        self.workers = workers
        self.lease = lease
        self.clock = clock
        self.on_finished = on_finished
        self._lock = threading.Lock()
        self._running: dict[str, _Running] = {}
        self._accepting = True
        # Runs whose outcome is no longer ours to record: abandoned at their hard time limit, or released at
        # shutdown. Their threads may still finish; they then leave the database alone.
        self._released: set[str] = set()
        self.completed = 0

    # ------------------------------------------------------------------------------------------------- claiming

    @property
    def busy(self) -> int:
        with self._lock:
            return len(self._running)

    def claim_and_start(self, now: datetime | None = None) -> int:
        """Claim as many pending runs as there are free workers and start each in its own thread."""
        with self._lock:
            free = self.workers - len(self._running) if self._accepting else 0
        if free <= 0:
            return 0
        with self.db.write() as session:
            claimed = Repositories(session).job_results.claim(
                runner_id=self.runner_id, clock=_fixed(now) if now else self.clock, lease=self.lease, limit=free,
                pinned_only=self.pinned_only,
            )
        for item in claimed:
            self._start(item)
        return len(claimed)

    def run_pending(self, now: datetime | None = None) -> list[RunOutcome]:
        """Claim every pending run and execute them one after another in this thread (tests, the CLI)."""
        outcomes: list[RunOutcome] = []
        while True:
            with self.db.write() as session:
                claimed = Repositories(session).job_results.claim(
                    runner_id=self.runner_id, clock=_fixed(now) if now else self.clock, lease=self.lease, limit=50,
                    pinned_only=self.pinned_only,
                )
            if not claimed:
                return outcomes
            outcomes.extend(self.execute(item, now=now) for item in claimed)

    def _start(self, claimed: ClaimedJobResult) -> None:
        job = claimed.job
        running = _Running(
            claimed=claimed,
            thread=threading.Thread(target=self._thread_main, args=(claimed,), name=f"job-{claimed.id[:8]}",
                                    daemon=True),
            started=time.monotonic(),
            soft_limit=job.soft_time_limit if job else None,
            hard_limit=job.time_limit if job else None,
        )
        with self._lock:
            self._running[claimed.id] = running
        running.thread.start()

    def _thread_main(self, claimed: ClaimedJobResult) -> None:
        try:
            self.execute(claimed)
        except Exception:  # recording the outcome failed (database down): the lease expires and the reaper acts
            log.exception("could not record the outcome of job result %s", claimed.id)
        finally:
            with self._lock:
                self._running.pop(claimed.id, None)
            if self.on_finished:
                self.on_finished()

    # ------------------------------------------------------------------------------------------------ executing

    def execute(self, claimed: ClaimedJobResult, *, now: datetime | None = None) -> RunOutcome:
        """Run one claimed job result to its end and record the outcome (only if this runner still owns it)."""
        entries: list[LogEntry] = []
        reason = self._refusal(claimed)
        if reason is not None:
            entries.append(_entry(LogLevel.FAILURE, reason))
            status = JobResultStatus.ERRORED
        else:
            status, entries = self._run_job(claimed)
        with self._lock:
            released = claimed.id in self._released
        if released:
            log.info("job result %s finished after it was given up on; its outcome stays as recorded", claimed.id)
            return RunOutcome(claimed.id, status, recorded=False)
        return self._record(claimed, status, entries, error=reason, now=now)

    def _refusal(self, claimed: ClaimedJobResult) -> str | None:
        """Why this run must not start now (the request's rules, re-checked at run time), or None."""
        job = claimed.job
        return requests.run_refusal_reason(
            job.facts(code_present=self.catalog.get(job.slug) is not None) if job else None,
            scheduled_job_cancelled=claimed.scheduled_job_cancelled,
            dry_run=claimed.dry_run,
            sensitive_data_present=claimed.id in self.transient,
        )

    def _run_job(self, claimed: ClaimedJobResult) -> tuple[JobResultStatus, list[LogEntry]]:
        assert claimed.job is not None
        found = self.catalog.get(claimed.job.slug)
        assert found is not None
        data: dict[str, Any] | None = (
            self.transient.pop(claimed.id) if claimed.job.has_sensitive_variables else claimed.data
        )
        job = found.job_class()
        job.user_id = claimed.user_id
        job.job_result_id = claimed.id
        with self._lock:
            if claimed.id in self._running:
                self._running[claimed.id].job = job
        try:
            job.run(dict(data or {}), not claimed.dry_run)
        except SoftTimeLimitExceeded:
            job.log_failure(message=f"Soft time limit of {claimed.job.soft_time_limit:g} s exceeded.")
        except Exception as exc:
            job.log_failure(message=f"{type(exc).__name__}: {exc}\n\n{traceback.format_exc()}")
        return (JobResultStatus.FAILED if job.failed else JobResultStatus.COMPLETED), list(job.log_entries)

    def _record(
        self,
        claimed: ClaimedJobResult,
        status: JobResultStatus,
        entries: list[LogEntry],
        *,
        error: str | None,
        now: datetime | None,
    ) -> RunOutcome:
        now = now or self.clock()
        with self.db.write() as session:
            repos = Repositories(session)
            if not repos.job_results.complete(claimed.id, runner_id=self.runner_id, status=status, now=now,
                                              error=error):
                log.warning("job result %s was no longer ours (reaped or abandoned); its outcome is dropped",
                            claimed.id)
                return RunOutcome(claimed.id, status, recorded=False)
            repos.job_results.add_log(claimed.id, [
                LogRecord(logged_at=entry.logged_at, level=entry.level.value, message=entry.message, obj=entry.obj)
                for entry in entries
            ])
            _announce(repos, claimed.id, claimed.user_id, now=now)
        self.completed += 1
        return RunOutcome(claimed.id, status, recorded=True)

    # ---------------------------------------------------------------------------------------- leases and limits

    def heartbeat(self, now: datetime | None = None) -> int:
        """Extend the leases of the runs still going; returns how many this runner still holds."""
        with self._lock:
            ids = list(self._running)
        if not ids:
            return 0
        now = now or self.clock()
        with self.db.write() as session:
            return Repositories(session).job_results.renew_leases(ids, runner_id=self.runner_id,
                                                                  lease_until=now + self.lease)

    def enforce_time_limits(self, now: datetime | None = None) -> None:
        """Raise ``SoftTimeLimitExceeded`` in runs past their soft limit; abandon runs past their hard limit."""
        elapsed_at = time.monotonic()
        with self._lock:
            running = list(self._running.values())
        for run in running:
            elapsed = elapsed_at - run.started
            if run.hard_limit is not None and elapsed >= run.hard_limit:
                with self._lock:
                    self._running.pop(run.claimed.id, None)
                    self._released.add(run.claimed.id)
                message = f"Time limit of {run.hard_limit:g} s exceeded; the job was abandoned."
                self._record(run.claimed, JobResultStatus.ERRORED, [_entry(LogLevel.FAILURE, message)],
                             error=message, now=now)
                if self.on_finished:
                    self.on_finished()
            elif run.soft_limit is not None and elapsed >= run.soft_limit and not run.soft_raised:
                run.soft_raised = True
                _raise_in_thread(run.thread, SoftTimeLimitExceeded)

    def reap(self, now: datetime | None = None) -> int:
        """Mark runs whose lease expired (their process died) as errored; returns how many."""
        now = now or self.clock()
        with self.db.write() as session:
            repos = Repositories(session)
            reaped = repos.job_results.fail_expired(now=now, error=INTERRUPTED)
            for result in reaped:
                repos.job_results.add_log(result.id, [_failure(INTERRUPTED_MESSAGE, now)])
                _announce(repos, result.id, result.user_id, now=now)
        for result in reaped:
            log.warning("job result %s interrupted: its runner stopped (lease expired)", result.id)
        return len(reaped)

    def reap_dead_local(self, now: datetime | None = None) -> int:
        """Mark as interrupted the runs held by processes on this host that no longer exist (a crash, kill -9).

        This spares a restarted server from waiting for the lease to expire; runs held by other hosts are left
        to the lease.
        """
        host = self.runner_id.split(":", 1)[0]
        with self.db.read() as session:
            held = Repositories(session).job_results.runners_of_unfinished(f"{host}:")
        dead: dict[str, list[str]] = {}
        for job_result_id, runner_id in held.items():
            if runner_id != self.runner_id and not _process_alive(runner_id):
                dead.setdefault(runner_id, []).append(job_result_id)
        if not dead:
            return 0
        now = now or self.clock()
        count = 0
        with self.db.write() as session:
            repos = Repositories(session)
            for runner_id, ids in dead.items():
                for result in repos.job_results.fail_unfinished(ids, runner_id=runner_id, now=now, error=INTERRUPTED):
                    repos.job_results.add_log(result.id, [_failure(INTERRUPTED_MESSAGE, now)])
                    _announce(repos, result.id, result.user_id, now=now)
                    count += 1
        if count:
            log.warning("%d job results interrupted: the process running them is gone", count)
        return count

    def shutdown(self, grace: timedelta, now: datetime | None = None) -> int:
        """Stop claiming, let running jobs finish within ``grace``, then record the rest as interrupted."""
        with self._lock:
            self._accepting = False
        deadline = time.monotonic() + grace.total_seconds()
        while self.busy and time.monotonic() < deadline:
            time.sleep(0.05)
        now = now or self.clock()
        with self._lock:
            self._released.update(self._running)
            self._running.clear()
        with self.db.write() as session:
            repos = Repositories(session)
            released = repos.job_results.fail_held(runner_id=self.runner_id, now=now, error=SHUTDOWN_INTERRUPTED)
            for result in released:
                repos.job_results.add_log(result.id, [_failure(SHUTDOWN_INTERRUPTED_MESSAGE, now)])
                _announce(repos, result.id, result.user_id, now=now)
        return len(released)


def _announce(repos: Repositories, job_result_id: str, user_id: str | None, *, now: datetime) -> None:
    """Tell the person the run ran as how it went (the notifier delivers it)."""
    if user_id:
        repos.outbox.add(OutboxMessage(channel=user_id, kind=OutboxKind.RUN_FINISHED,
                                       payload={"job_result_id": job_result_id}, ref_type=ObjectType.JOB_RESULT,
                                       ref_id=job_result_id), now=now)


def _fixed(now: datetime) -> Callable[[], datetime]:
    return lambda: now


def _process_alive(runner_id: str) -> bool:
    """Whether the process named in a runner id (``host:pid:nonce``) on this host still exists."""
    try:
        pid = int(runner_id.split(":")[1])
    except (IndexError, ValueError):
        return True  # not one of ours: leave it to the lease
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _failure(message: str, now: datetime) -> LogRecord:
    """A failure line the runner adds to a job result's log."""
    return LogRecord(logged_at=now, level=LogLevel.FAILURE.value, message=message)


def _entry(level: LogLevel, message: str) -> LogEntry:
    return LogEntry(level=level, message=message, obj=None, logged_at=datetime.now(UTC))


def _raise_in_thread(thread: threading.Thread, exception: type[BaseException]) -> None:
    """Raise ``exception`` asynchronously in ``thread`` (the way Celery's soft time limit reaches a task)."""
    if thread.ident is None or not thread.is_alive():
        return
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread.ident), ctypes.py_object(exception))
