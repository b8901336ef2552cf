"""The background work of ``jobgate serve``: dispatcher, approval loop (expiry, reminders, escalation), executor,
reaper, heartbeat and notifier, with their lifecycle.

The dispatcher, the executor's claim loop and (executor ``celery``) publishing to the broker are event-driven loops
(woken by in-process commits and, on PostgreSQL, by ``LISTEN/NOTIFY``; polling is the safety net). APScheduler 3
(memory job store only) is the timer for the periodic upkeep: lease heartbeats, the reaper, the sweeper that
publishes lost Celery messages again, and reading the permissions file again when it changed. Job code runs in
worker processes, never here. This is wiring: it may import anything.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler

from bot.app import Lifecycle
from bot.config import ExecutorKind
from bot.executor.celery_app import build_celery_app
from bot.executor.local import LocalExecutor
from bot.executor.publisher import REDELIVER_AFTER, CeleryMonitor, CeleryPublisher
from bot.executor.runs import DEFAULT_LEASE, reap_dead_local, reap_expired
from bot.loops import shown_error
from bot.metrics import WorkerCounts
from bot.scheduler import ApprovalLoop, Dispatcher, DispatchLoop
from storage.notify import WakeupListener

if TYPE_CHECKING:  # the notifier imports Slack; a server without Slack never loads it
    from bot.app import Core
    from bot.notifier import Notifier

log = logging.getLogger(__name__)

PINNED_ONLY_WORKERS = 2
"""Worker processes of a serving process that runs only its own sensitive runs (Celery executor, web-only replica)."""


@dataclass(frozen=True, kw_only=True)
class Timings:
    """How often things happen. The defaults suit production; tests shorten them.

    Attributes:
        workers: worker processes of the local executor; None for ``JOBGATE_WORKERS``.
        prefetch: runs claimed beyond the free workers; None for twice the workers.
    """

    poll: timedelta = timedelta(seconds=5)
    claim_poll: timedelta = timedelta(seconds=2)
    lease: timedelta = DEFAULT_LEASE
    reap_every: timedelta = timedelta(seconds=5)
    shutdown_grace: timedelta = timedelta(seconds=30)
    workers: int | None = None
    prefetch: int | None = None
    redeliver_after: timedelta = REDELIVER_AFTER
    sweep_every: timedelta = timedelta(seconds=15)
    monitor_every: timedelta = timedelta(seconds=10)
    policy_every: timedelta = timedelta(seconds=2)
    jobs_every: timedelta = timedelta(seconds=2)


class Background(Lifecycle):
    """Everything ``jobgate serve`` runs beside the HTTP server.

    Args:
        core: the process's parts (database, catalog, sensitive-data hand-over, wake-ups, settings).
        scheduler_enabled: False for a web-only replica: nothing runs on a clock, and the executor only takes the
            sensitive runs pinned to this process.
        notifier: delivers the outbox to Slack, when Slack is configured.
        timings: loop and lease timings.
        clock: where ``now`` comes from.
    """

    def __init__(
        self,
        core: Core,
        *,
        scheduler_enabled: bool = True,
        notifier: Notifier | None = None,
        timings: Timings | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.core = core
        self.scheduler_enabled = scheduler_enabled
        self.notifier = notifier
        self.timings = timings or Timings()
        self.clock = clock
        t = self.timings
        settings = core.settings
        self.executor_kind = settings.executor
        celery = settings.executor is ExecutorKind.CELERY
        workers = t.workers or settings.workers
        pinned_only = celery or not scheduler_enabled
        self.executor = LocalExecutor(
            core.db, core.catalog, core.handover,
            workers=min(PINNED_ONLY_WORKERS, workers) if pinned_only else workers,
            default_time_limit=settings.default_time_limit, lease=t.lease, clock=clock, prefetch=t.prefetch,
            pinned_only=pinned_only, poll=t.claim_poll, on_recorded=self._recorded,
        )
        self.publisher: CeleryPublisher | None = None
        self.monitor: CeleryMonitor | None = None
        if celery:
            assert settings.celery_broker_url is not None
            app = build_celery_app(broker_url=settings.celery_broker_url,
                                   default_time_limit=settings.default_time_limit)
            if scheduler_enabled:
                self.publisher = CeleryPublisher(core.db, app, default_time_limit=settings.default_time_limit,
                                              clock=clock, redeliver_after=t.redeliver_after, poll=t.claim_poll)
            lost = self.publisher.messages_may_be_lost if self.publisher is not None else None
            monitor = self.monitor = CeleryMonitor(app, every=t.monitor_every, on_lost_messages=lost)
            if self.publisher is not None:  # until the workers answered: as many as one worker would have
                self.publisher.capacity = lambda: monitor.capacity() or settings.workers
        self.dispatch_loop: DispatchLoop | None = None
        if scheduler_enabled:
            dispatcher = Dispatcher(core.db, grace=settings.misfire_grace, clock=clock, deps=core.deps)
            self.dispatch_loop = DispatchLoop(dispatcher, poll=t.poll, on_dispatched=self._wake_execution)
        self.approval_loop: ApprovalLoop | None = None
        if scheduler_enabled:
            self.approval_loop = ApprovalLoop(core.services.deadlines, poll=t.poll, clock=clock)
        self.listener: WakeupListener | None = None
        if scheduler_enabled and core.db.is_postgresql:
            self.listener = WakeupListener(settings.database_url, self._wake_all)
        self.timer = BackgroundScheduler(executors={"default": ThreadPoolExecutor(3)}, timezone=UTC)
        self.started_at: datetime | None = None
        self.job_reloads = 0
        core.wakeups.add(self._wake_all)
        if notifier is not None:
            core.wakeups.add(notifier.wake)
        if core.metrics is not None:
            core.metrics.watch_workers(self.worker_counts)

    def _wake_all(self) -> None:
        if self.dispatch_loop is not None:
            self.dispatch_loop.wake()
        self._wake_execution()

    def _wake_execution(self) -> None:
        self.executor.wake()
        if self.publisher is not None:
            self.publisher.wake()

    def _recorded(self, ids: set[str]) -> None:
        if self.core.metrics is not None:
            self.core.metrics.runs_recorded(ids)
        if self.notifier is not None:
            self.notifier.wake()

    # --------------------------------------------------------------------------------------------------- lifecycle

    def start(self) -> None:
        t = self.timings
        self.started_at = datetime.now(UTC)
        self._reap()
        options: dict[str, Any] = {"coalesce": True, "max_instances": 1, "misfire_grace_time": None}
        self.timer.add_job(self._safely(self.executor.heartbeat), "interval", seconds=t.lease.total_seconds() / 3,
                           id="heartbeat", name="lease heartbeat", **options)
        self.timer.add_job(self._safely(self._reap), "interval", seconds=t.reap_every.total_seconds(), id="reaper",
                           name="reaper", **options)
        if self.publisher is not None:
            self.timer.add_job(self._safely(self.publisher.sweep), "interval", seconds=t.sweep_every.total_seconds(),
                               id="sweeper", name="sweeper of lost Celery messages", **options)
        if self.core.policy_watcher is not None:
            self.timer.add_job(self._safely(self.core.policy_watcher.check), "interval",
                               seconds=t.policy_every.total_seconds(), id="policy", name="permissions file", **options)
        self.timer.add_job(self._safely(self._check_jobs), "interval", seconds=t.jobs_every.total_seconds(),
                           id="jobs", name="job modules", **options)
        self.timer.start()
        self.executor.start()
        if self.publisher is not None:
            self.publisher.start()
        if self.monitor is not None:
            self.monitor.start()
        if self.dispatch_loop is not None:
            self.dispatch_loop.start()
        if self.approval_loop is not None:
            self.approval_loop.start()
        if self.listener is not None:
            self.listener.start()
        if self.notifier is not None:
            self.notifier.start()
        log.info("background started: scheduler %s, executor %s (%d local worker processes), runner %s",
                 "on" if self.scheduler_enabled else "off (web-only replica)", self.executor_kind.value,
                 self.executor.pool.size, self.executor.runner_id)

    def stop(self) -> None:
        """Stop claiming, let running jobs finish within the grace period, record the rest as interrupted."""
        if self.dispatch_loop is not None:
            self.dispatch_loop.stop()
        if self.approval_loop is not None:
            self.approval_loop.stop()
        if self.listener is not None:
            self.listener.stop()
        if self.publisher is not None:
            self.publisher.stop()
        if self.monitor is not None:
            self.monitor.stop()
        interrupted = self.executor.stop(self.timings.shutdown_grace)
        if interrupted:
            log.warning("%d running jobs did not finish within the grace period; recorded as interrupted", interrupted)
        self.timer.shutdown(wait=False)
        if self.notifier is not None:
            self.notifier.stop()
        log.info("background stopped")

    def _check_jobs(self) -> None:
        """Load the job modules again when a file under ``JOBGATE_JOBS_PATH`` changed (polled modification times).

        New jobs are stored (disabled, as always), changed ones updated, removed ones marked not installed. A module
        that stops importing keeps its last good version (logged, shown by ``/healthz``); the worker processes are
        replaced, once idle, only when every module loaded, so they never lose a last good version.
        """
        catalog = self.core.catalog
        if not catalog.changed():
            return
        before = set(catalog.discovery.jobs)
        outcome = self.core.services.management.sync_jobs()
        self.job_reloads += 1
        after = set(catalog.discovery.jobs)
        log.info("job modules changed: %d jobs loaded (%s new, %s gone)", len(after),
                 ", ".join(sorted(after - before)) or "none", ", ".join(sorted(before - after)) or "none")
        held = {error.module for error in catalog.held}
        for error in outcome.errors:
            suffix = "; its last good version stays loaded" if error.module in held else ""
            log.error("job module %s cannot be loaded: %s%s", error.module, error.error, suffix)
        if not held:
            self.executor.pool.recycle()
        self._wake_execution()

    def _reap(self) -> None:
        now = self.clock()
        reap_dead_local(self.core.db, own_runner_id=self.executor.runner_id, now=now)
        reap_expired(self.core.db, now=now, own_runner_id=self.executor.runner_id, holding=self.executor.holding)

    @staticmethod
    def _safely(task: Callable[[], object]) -> Callable[[], None]:
        def run() -> None:
            try:
                task()
            except Exception:  # upkeep retries on its next tick; it must never kill the timer
                log.exception("background task %s failed", getattr(task, "__name__", task))

        return run

    def worker_counts(self) -> list[WorkerCounts]:
        """Worker processes alive and busy: this process's own (local), and what the broker's workers told (celery)."""
        local = self.executor.pool.health()
        counts = [WorkerCounts("local", sum(w.alive for w in local), sum(w.busy for w in local))]
        if self.monitor is not None:
            seen = self.monitor.workers()
            counts.append(WorkerCounts("celery", sum(w.concurrency or 0 for w in seen),
                                       sum(len(w.job_result_ids) for w in seen)))
        return counts

    def health(self, *, internals: bool = False) -> dict[str, Any]:
        loop = self.dispatch_loop
        executor: dict[str, Any] = {"kind": self.executor_kind.value,
                                    "local": self.executor.health(internals=internals)}
        if self.monitor is not None:
            seen = self.monitor.workers()
            executor["celery"] = {
                "workers": [
                    {"name": worker.name if internals else f"worker {i}", "alive": True,
                     "busy": len(worker.job_result_ids), "concurrency": worker.concurrency,
                     "job_result_ids": list(worker.job_result_ids)}
                    for i, worker in enumerate(seen, start=1)
                ],
                "publisher": self.publisher.health(internals=internals) if self.publisher is not None else None,
                "monitor_error": shown_error(self.monitor.loop.last_error, internals=internals),
            }
        report: dict[str, Any] = {
            "scheduler": {
                "enabled": self.scheduler_enabled,
                "running": bool(loop and loop.running),
                "passes": loop.passes if loop else 0,
                "last_pass_at": loop.last_pass_at.isoformat() if loop and loop.last_pass_at else None,
                "last_error": shown_error(loop.last_error, internals=internals) if loop else None,
                "listening": bool(self.listener and self.listener.connected),
            },
            "executor": executor,
        }
        report["notifier"] = self.notifier.health(internals=internals) if self.notifier else {"enabled": False}
        catalog = self.core.catalog
        errors = catalog.discovery.errors
        jobs: dict[str, Any] = {"ok": not errors, "loaded": len(catalog.discovery.jobs), "reloads": self.job_reloads}
        if errors:
            jobs["errors"] = [
                {"module": error.module, "error": error.error if internals else "cannot be loaded",
                 "last_good_version_loaded": any(held.module == error.module for held in catalog.held)}
                for error in errors
            ]
        report["jobs"] = jobs
        if self.core.policy_watcher is not None:
            report["permissions"] = self.core.policy_watcher.health(internals=internals)
        return report
