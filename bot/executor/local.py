"""The local executor: ``jobgate serve`` claims pending job results in batches and runs them in its worker pool.

One claim loop (woken when work arrives or a worker frees up; polling is the safety net) claims as many pending job
results as there are free worker slots plus a small prefetch, in one statement, and hands their orders to the pool
over pipes (no database round trip per run). Reports come back to the group committer. The loop also refuses, before
anything starts, the runs whose job was disabled or removed since they were asked for. Must not import Slack or
handlers.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.domain.results import JobResultStatus
from bot.executor.committer import MAX_UNRECORDED, GroupCommitter
from bot.executor.orders import SHUTDOWN_INTERRUPTED, SHUTDOWN_INTERRUPTED_MESSAGE, RunReport, interrupted_by_shutdown
from bot.executor.pool import PoolStoppedError, WorkerPool
from bot.executor.runs import DEFAULT_LEASE, fail_held, prepare, renew_leases
from bot.logs import about
from bot.loops import WakeableLoop, shown_error
from bot.registry import JobCatalog
from bot.transient import SensitiveHandover
from storage.db import Database
from storage.repositories import Repositories

log = logging.getLogger(__name__)

PREFETCH_WINDOW = 0.05
"""Seconds of work a quick pool keeps claimed ahead (at most ``MAX_PREFETCH`` runs)."""
MAX_PREFETCH = 512


@dataclass(frozen=True)
class RunOutcome:
    """How one run ended (``run_pending``)."""

    job_result_id: str
    status: JobResultStatus
    recorded: bool


class LocalExecutor:
    """Claims pending job results and runs them in worker processes of this machine.

    Args:
        db: the database.
        catalog: the jobs this process found (a run whose job it does not have is refused before it starts).
        handover: where the data of sensitive runs waits in memory; its runner id is this executor's.
        workers: how many worker processes (``JOBGATE_WORKERS``).
        default_time_limit: ``JOBGATE_DEFAULT_TIME_LIMIT``.
        lease: how long a claim lasts without a heartbeat.
        clock: where ``now`` comes from.
        prefetch: the least number of runs claimed beyond the workers, so a worker never waits for the next claim
            (default twice the workers). Quick jobs get more: as many as the workers finish in ``PREFETCH_WINDOW``,
            so a burst is claimed in batches, not one run at a time.
        pinned_only: claim only the runs pinned to this process (a web-only replica, or the Celery executor's
            serving process: only its sensitive runs).
        poll: the longest the claim loop sleeps when nobody wakes it.
        on_recorded: called after outcomes are committed (wakes the notifier).
    """

    def __init__(
        self,
        db: Database,
        catalog: JobCatalog,
        handover: SensitiveHandover,
        *,
        workers: int,
        default_time_limit: timedelta,
        lease: timedelta = DEFAULT_LEASE,
        clock: Callable[[], datetime],
        prefetch: int | None = None,
        pinned_only: bool = False,
        poll: timedelta = timedelta(seconds=2),
        on_recorded: Callable[[set[str]], None] | None = None,
    ) -> None:
        self.db = db
        self.catalog = catalog
        self.handover = handover
        self.runner_id = handover.runner_id
        self.default_time_limit = default_time_limit
        self.lease = lease
        self.clock = clock
        self.min_prefetch = prefetch if prefetch is not None else workers * 2
        self._run_seconds = 1.0  # a moving average of how long runs take
        self.pinned_only = pinned_only
        self.pool = WorkerPool(size=workers, jobs_paths=catalog.paths, entry_points=catalog.entry_points,
                               on_report=self._on_report)
        self.on_recorded = on_recorded
        self.committer = GroupCommitter(db, runner_id=self.runner_id, clock=clock, on_recorded=self._after_commit)
        self.claim_loop = WakeableLoop("jobgate-claims", self._claim_round, retry_after=poll.total_seconds())
        self.poll = poll
        self._lock = threading.Lock()
        self._users: dict[str, str | None] = {}  # in flight: job result id -> the user it runs as
        # in flight: job result id -> job, scheduled job id, user
        self._runs: dict[str, tuple[str, str | None, str | None]] = {}
        self._tracking: dict[str, RunOutcome] | None = None
        self._recorded = threading.Condition()
        self._interrupted = 0
        self.claimed = 0

    # ------------------------------------------------------------------------------------------------- lifecycle

    def start(self, *, claiming: bool = True) -> None:
        """Start the workers, the group commit and (unless ``claiming`` is False) the claim loop."""
        self.pool.start()
        self.committer.start()
        if claiming:
            self.claim_loop.start()

    def wake(self) -> None:
        """Look for pending work now (a commit may have made some)."""
        self.claim_loop.wake()

    def stop(self, grace: timedelta) -> int:
        """Stop claiming, let running jobs finish within ``grace``, record the rest as interrupted.

        Claimed runs that never started are given back (``pending``: another server, or this one restarted, runs
        them), except sensitive ones, whose data dies with this process. Returns how many runs were interrupted.
        """
        self.claim_loop.stop()
        unstarted = self.pool.stop(grace.total_seconds())
        give_back: list[str] = []
        for order in unstarted:
            if order.has_sensitive_variables:
                self._submit(interrupted_by_shutdown(order.job_result_id, started_at=self.clock()))
            else:
                give_back.append(order.job_result_id)
                with self._lock:
                    self._users.pop(order.job_result_id, None)
        self.committer.stop()
        now = self.clock()
        with self.db.write() as session:
            Repositories(session).job_results.give_back(give_back, runner_id=self.runner_id)
        # Whatever this runner still holds (a pinned sensitive run not claimed yet) ends with it.
        with self.db.read() as session:
            held = [i for i, r in Repositories(session).job_results.runners_of_unfinished(self.runner_id).items()
                    if r == self.runner_id]
        interrupted = fail_held(self.db, held, runner_id=self.runner_id, error=SHUTDOWN_INTERRUPTED,
                                message=SHUTDOWN_INTERRUPTED_MESSAGE, now=now)
        return interrupted + self._interrupted

    # ---------------------------------------------------------------------------------------------------- claims

    def _claim_round(self) -> float:
        while not self.claim_loop.stopping:
            if self.claim() == 0:
                break
        return self.poll.total_seconds()

    def claim(self, now: datetime | None = None) -> int:
        """Claim what the free workers (and the prefetch) can take, and hand it over; returns how many."""
        if not self.pool.accepting or self.committer.backlog >= MAX_UNRECORDED:
            return 0  # stopping, or the database has not taken the outcomes of what ran: no more work meanwhile
        in_flight = len(self.pool.in_flight())
        capacity = self.pool.size + self.prefetch
        if in_flight > max(self.pool.size, capacity // 2):  # enough queued: claim a batch, not a run at a time
            return 0
        want = capacity - in_flight
        self.handover.expire(now or self.clock())  # drop the data of sensitive runs not started in time
        with self.db.write() as session:
            claimed = Repositories(session).job_results.claim(
                runner_id=self.runner_id, clock=(lambda: now) if now is not None else self.clock, lease=self.lease,
                limit=want, pinned_only=self.pinned_only,
            )
        for item in claimed:
            sensitive = item.job is not None and item.job.has_sensitive_variables
            prepared = prepare(
                item,
                code_present=item.job is not None and self.catalog.get(item.job.slug) is not None,
                sensitive_data=self.handover.pop(item.id) if sensitive else None,
                default_time_limit=self.default_time_limit,
            )
            with self._lock:
                self._users[item.id] = item.user_id
                self._runs[item.id] = (item.job.slug if item.job is not None else item.name, item.scheduled_job_id,
                                       item.user_id)
            if prepared.refused is not None:
                self._submit(prepared.refused)
                continue
            assert prepared.order is not None
            try:
                self.pool.submit(prepared.order)
            except PoolStoppedError:  # stopping: the claim is given back or interrupted by stop()
                self._submit(interrupted_by_shutdown(item.id, started_at=item.started_at))
        self.claimed += len(claimed)
        return len(claimed)

    @property
    def prefetch(self) -> int:
        """How many runs are claimed beyond the workers: ``PREFETCH_WINDOW`` of work, at least ``min_prefetch``."""
        quick = int(self.pool.size * PREFETCH_WINDOW / max(self._run_seconds, 1e-4))
        return max(self.min_prefetch, min(MAX_PREFETCH, quick))

    def _on_report(self, report: RunReport) -> None:
        seconds = (report.finished_at - report.started_at).total_seconds()
        self._run_seconds = 0.9 * self._run_seconds + 0.1 * max(0.0, seconds)
        self._submit(report)
        self.claim_loop.wake()

    def _submit(self, report: RunReport) -> None:
        with self._lock:
            user_id = self._users.get(report.job_result_id)
            if report.error == SHUTDOWN_INTERRUPTED:
                self._interrupted += 1
        self.committer.submit(report, user_id)
        with self._lock:  # only now: a run is always in one of the two, so holding() never misses it
            self._users.pop(report.job_result_id, None)

    def _after_commit(self, results: list[tuple[RunReport, bool]]) -> None:
        with self._lock:
            tracking = self._tracking
            runs = [(report, recorded, self._runs.pop(report.job_result_id, ("?", None, None)))
                    for report, recorded in results]
        for report, recorded, (job, scheduled_job_id, user_id) in runs:
            if recorded:
                seconds = max(0.0, (report.finished_at - report.started_at).total_seconds())
                log.info("job result %s of %s %s in %.2f s, as %s", report.job_result_id, job, report.status,
                         seconds, user_id, extra=about(job_result_id=report.job_result_id,
                                                       scheduled_job_id=scheduled_job_id, job=job, user_id=user_id))
        if tracking is not None:
            for report, recorded in results:
                tracking[report.job_result_id] = RunOutcome(report.job_result_id, report.status, recorded)
        with self._recorded:
            self._recorded.notify_all()
        if self.on_recorded is not None:
            self.on_recorded({report.job_result_id for report, recorded in results if recorded})

    # ------------------------------------------------------------------------------------------ leases and health

    def holding(self) -> set[str]:
        """The job results this executor claimed and has not recorded yet (queued, running, or whose outcome waits
        to be written): alive whatever their lease says, so the reaper spares them and the heartbeat renews them."""
        with self._lock:
            ids = set(self._users)  # read first: a run leaves it only once the committer has its report
        return ids | set(self.committer.pending_ids())

    def heartbeat(self, now: datetime | None = None) -> int:
        """Extend the leases of the runs in flight (queued, running, or waiting to be recorded)."""
        return renew_leases(self.db, {self.runner_id: sorted(self.holding())}, now=now or self.clock(),
                            lease=self.lease)

    def health(self, *, internals: bool) -> dict[str, Any]:
        """The executor as ``/healthz`` shows it (process ids only with ``internals``)."""
        workers = []
        for worker in self.pool.health():
            shown: dict[str, Any] = {"slot": worker.slot, "alive": worker.alive, "busy": worker.busy,
                                     "job_result_id": worker.job_result_id, "runs": worker.runs,
                                     "restarts": worker.restarts}
            if internals:
                shown["pid"] = worker.pid
            workers.append(shown)
        report: dict[str, Any] = {
            "workers": workers,
            "size": self.pool.size,
            "busy": sum(w["busy"] for w in workers),
            "queued": max(0, len(self.pool.in_flight()) - sum(w["busy"] for w in workers)),
            "claiming": self.claim_loop.running,
            "recorded": self.committer.recorded,
            "unrecorded": self.committer.backlog,
            "last_error": shown_error(self.claim_loop.last_error or self.committer.last_error, internals=internals),
        }
        if internals:
            report["runner_id"] = self.runner_id
        return report

    # ----------------------------------------------------------------------------------------- tests and the CLI

    def run_pending(self, now: datetime | None = None, *, timeout: float = 60) -> list[RunOutcome]:
        """Claim every pending run, wait until each has ended and is recorded, and say how each ended.

        For tests and one-shot commands, on an executor started without its claim loop. ``now`` is the claim's
        clock (the outcomes carry the workers' own times).
        """
        tracked: dict[str, RunOutcome] = {}
        with self._lock:
            self._tracking = tracked
        deadline = time.monotonic() + timeout
        try:
            while True:
                count = self.claim(now)
                if count == 0 and not self.pool.in_flight():
                    break
                with self._recorded:
                    self._recorded.wait(0.05)
                if time.monotonic() >= deadline:
                    raise TimeoutError("pending runs did not finish in time")
            if not self.committer.flush(max(0.0, deadline - time.monotonic())):
                raise TimeoutError("run outcomes were not recorded in time")
        finally:
            with self._lock:
                self._tracking = None
        return list(tracked.values())
