"""``jobgate worker``: a Celery worker that runs jobs, and the database side of its task (``WorkerRuntime``).

The worker's main process imports the jobs once, before its pool starts; the pool processes (forked from it) inherit
them. In a pool process the task claims its job result by compare-and-set and records the outcome under the runner
id ``host:pid:nonce`` of that pool process (trying again, for a while, when the database is briefly unreachable);
the main process knows which pool process runs which message, so it renews their leases (a heartbeat thread) and,
when Celery ends a pool process at a hard time limit or finds one dead, records that run ``errored`` with the reason
at once. A killed worker (main process and pool, ``kill -9``) leaves its runs to the reaper of the serving
processes: at once on the same host, when the lease expires elsewhere.
Must not import Slack or handlers.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
import warnings
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from celery import signals
from celery.exceptions import CPendingDeprecationWarning
from celery.worker import state as worker_state

from bot.config import Settings
from bot.domain.errors import DatabaseUnavailableError
from bot.executor.celery_app import CelerySoftTimeLimit, bind_runtime, build_celery_app
from bot.executor.committer import RETRY_FIRST, RETRY_MAX
from bot.executor.execution import SOFT_LIMIT_SIGNAL, execute, install_soft_limit_handler
from bot.executor.orders import (
    SHUTDOWN_INTERRUPTED,
    SHUTDOWN_INTERRUPTED_MESSAGE,
    RunReport,
    process_exited,
    time_limit_exceeded,
)
from bot.executor.runs import DEFAULT_LEASE, fail_held, host_name, prepare, record_outcomes, renew_leases
from bot.registry import discover
from storage.db import Database
from storage.repositories import Repositories

log = logging.getLogger(__name__)

RECORD_PATIENCE = 300.0
"""How long a pool process keeps trying to record an outcome while the database is unreachable (seconds)."""


def _utcnow() -> datetime:
    return datetime.now(UTC)


class WorkerRuntime:
    """What the jobgate task does with the database, in a Celery worker's main process and its pool processes.

    Args:
        settings: jobgate's settings (the database, the jobs, the default time limit).
        lease: how long a claim lasts without a heartbeat.
        clock: where ``now`` comes from.
    """

    def __init__(self, settings: Settings, *, lease: timedelta = DEFAULT_LEASE,
                 clock: Callable[[], datetime] = _utcnow) -> None:
        self.settings = settings
        self.lease = lease
        self.clock = clock
        self.host = host_name()
        self.nonce = uuid.uuid4().hex[:8]
        self.discovery = discover(settings.jobs_paths)
        for error in self.discovery.errors:
            log.error("cannot load %s: %s", error.module, error.error)
        self._db: Database | None = None
        self._db_pid: int | None = None
        self._soft_limit_pid: int | None = None
        self._heartbeat_stop = threading.Event()
        self._heartbeat: threading.Thread | None = None

    def runner_id(self, pid: int) -> str:
        """The runner id of the pool process ``pid`` of this worker."""
        return f"{self.host}:{pid}:{self.nonce}"

    @property
    def db(self) -> Database:
        """This process's own connection pool (a pool process never uses the connections of its parent)."""
        if self._db is None or self._db_pid != os.getpid():
            if self._db is not None:
                self._db.engine.dispose(close=False)  # the parent's connections stay the parent's
            # No ping before each use: two transactions per run would pay a round trip each. A connection that died
            # fails the run's claim, the message is dropped, and the sweeper publishes the run again.
            self._db = Database.from_url(self.settings.database_url, pool_pre_ping=False)
            self._db_pid = os.getpid()
        return self._db

    # ------------------------------------------------------------------------------------- in a pool process

    def run(self, job_result_id: str) -> None:
        if self._soft_limit_pid != os.getpid():  # the first run in this pool process
            # Installed over billiard's own handler, which raises anywhere, even while an outcome is recorded.
            install_soft_limit_handler(SOFT_LIMIT_SIGNAL, CelerySoftTimeLimit)
            self._soft_limit_pid = os.getpid()
        runner_id = self.runner_id(os.getpid())
        with self.db.single_statement() as session:
            claimed = Repositories(session).job_results.claim_one(job_result_id, runner_id=runner_id,
                                                                  now=self.clock(), lease=self.lease)
        if claimed is None:
            log.info("job result %s is not pending (run already, or running elsewhere): message ignored",
                     job_result_id)
            return
        found = self.discovery.jobs.get(claimed.job.slug) if claimed.job is not None else None
        prepared = prepare(claimed, code_present=found is not None, sensitive_data=None,
                           default_time_limit=self.settings.default_time_limit)
        report: RunReport
        if prepared.refused is not None:
            report = prepared.refused
        else:
            assert prepared.order is not None and found is not None
            report = execute(prepared.order, found.job_class)
        self._record(report, claimed.user_id, runner_id)
        if report.retire_process:
            raise SystemExit(1)  # out of memory: Celery starts a fresh pool process

    def _record(self, report: RunReport, user_id: str | None, runner_id: str) -> None:
        """Record a run's outcome. While the database is unreachable, try again with a growing back-off, for up to
        ``RECORD_PATIENCE``: the message stays active meanwhile, so the main process's heartbeat keeps the lease."""
        wait = RETRY_FIRST
        deadline = time.monotonic() + RECORD_PATIENCE
        while True:
            try:
                with self.db.write() as session:
                    record_outcomes(Repositories(session), [(report, user_id)], runner_id=runner_id,
                                    now=self.clock())
                return
            except DatabaseUnavailableError as exc:
                if time.monotonic() + wait > deadline:
                    raise  # the run stays running; the reaper marks it interrupted when its lease expires
                log.warning("recording the outcome of job result %s failed (%s); trying again in %.2f s",
                            report.job_result_id, exc.__cause__ or exc, wait)
                time.sleep(wait)
                wait = min(RETRY_MAX, wait * 2)

    # -------------------------------------------------------------------------------------- in the main process

    def warm_up(self) -> None:
        """In a new pool process: connect to the database and prepare the claim now, not in its first run."""
        with self.db.single_statement() as session:  # a claim of no run: the statement is compiled and cached
            Repositories(session).job_results.claim_one(str(uuid.UUID(int=0)), runner_id=self.runner_id(os.getpid()),
                                                        now=self.clock(), lease=self.lease)

    def process_lost(self, job_result_id: str, *, worker_pid: int, exitcode: int) -> None:
        self._fail(process_exited(job_result_id, exitcode, started_at=self.clock()), worker_pid)

    def time_limit_exceeded(self, job_result_id: str, *, worker_pid: int, time_limit: float) -> None:
        self._fail(time_limit_exceeded(job_result_id, time_limit, started_at=self.clock()), worker_pid)

    def _fail(self, report: RunReport, worker_pid: int) -> None:
        assert report.error is not None
        if fail_held(self.db, [report.job_result_id], runner_id=self.runner_id(worker_pid), error=report.error,
                     message=report.log[-1].message, now=self.clock()):
            log.warning("job result %s errored: %s", report.job_result_id, report.error)

    def held(self) -> dict[str, list[str]]:
        """The job results the pool processes are running, by runner id (from Celery's active requests)."""
        for _ in range(10):  # the set changes under this thread's feet while the worker takes and ends tasks
            try:
                active = list(worker_state.active_requests)
                break
            except RuntimeError:
                continue
        else:
            active = []
        found: dict[str, list[str]] = {}
        for request in active:
            if request.worker_pid and request.args:
                found.setdefault(self.runner_id(request.worker_pid), []).append(str(request.args[0]))
        return found

    def heartbeat(self) -> int:
        """Extend the leases of the runs the pool processes are running."""
        return renew_leases(self.db, self.held(), now=self.clock(), lease=self.lease)

    def start_heartbeat(self) -> None:
        def beat() -> None:
            while not self._heartbeat_stop.wait(self.lease.total_seconds() / 3):
                try:
                    self.heartbeat()
                except Exception:  # the next beat tries again; the lease has room for two misses
                    log.exception("renewing the leases of running jobs failed")

        self._heartbeat = threading.Thread(target=beat, name="jobgate-heartbeat", daemon=True)
        self._heartbeat.start()

    def stop_heartbeat(self) -> None:
        self._heartbeat_stop.set()

    def interrupt_leftovers(self) -> int:
        """At shutdown, once the pool is gone: runs still held by this worker's pool processes are interrupted."""
        with self.db.read() as session:
            held = Repositories(session).job_results.runners_of_unfinished(f"{self.host}:")
        mine: dict[str, list[str]] = {}
        for job_result_id, runner_id in held.items():
            if runner_id.endswith(f":{self.nonce}"):
                mine.setdefault(runner_id, []).append(job_result_id)
        return sum(fail_held(self.db, ids, runner_id=runner_id, error=SHUTDOWN_INTERRUPTED,
                             message=SHUTDOWN_INTERRUPTED_MESSAGE, now=self.clock())
                   for runner_id, ids in mine.items())


def run_worker(settings: Settings, *, concurrency: int, loglevel: str = "INFO") -> int:
    """Run a Celery worker for jobgate until it is stopped (SIGTERM or Ctrl-C); returns its exit status.

    Raises:
        ValueError: no broker is configured.
    """
    if settings.celery_broker_url is None:
        raise ValueError("JOBGATE_CELERY_BROKER_URL is not set")
    runtime = WorkerRuntime(settings)
    bind_runtime(runtime)
    app = build_celery_app(broker_url=settings.celery_broker_url, default_time_limit=settings.default_time_limit)
    app.conf.worker_soft_shutdown_timeout = settings.shutdown_grace.total_seconds()
    # Celery warns at every reconnection that a future default will cancel running tasks then; jobgate chose not to
    # (worker_cancel_long_running_tasks_on_connection_loss=False, see build_celery_app).
    warnings.filterwarnings("ignore", category=CPendingDeprecationWarning, message=r"\s*In Celery 5.1 we introduced")

    stopped_by: list[str] = []

    def ready(**_: Any) -> None:
        runtime.start_heartbeat()

    def pool_process_started(**_: Any) -> None:
        try:
            runtime.warm_up()
        except Exception:  # the first claim connects, or fails, by itself
            log.exception("a pool process could not reach the database at start")

    def shutting_down(sig: str = "", **_: Any) -> None:
        stopped_by.append(sig)

    # Celery logs two lines per task at INFO; jobgate's outcome is in the database, and a busy worker would spend
    # its time writing them.
    for name in ("celery.app.trace", "celery.worker.strategy"):
        logging.getLogger(name).setLevel(logging.WARNING)
    signals.worker_ready.connect(ready, weak=False)
    signals.worker_process_init.connect(pool_process_started, weak=False)
    signals.worker_shutting_down.connect(shutting_down, weak=False)
    worker = app.Worker(
        hostname=f"jobgate-{os.getpid()}@{runtime.host}",
        concurrency=concurrency,
        pool_cls="prefork",
        loglevel=loglevel,
        without_gossip=True,
        without_mingle=True,
        quiet=True,
    )
    log.info("jobgate worker %s: %d pool processes, %d jobs", runtime.runner_id(os.getpid()), concurrency,
             len(runtime.discovery.jobs))
    worker.start()  # until stopped; the pool is gone when it returns
    runtime.stop_heartbeat()
    interrupted = runtime.interrupt_leftovers()
    if interrupted:
        log.warning("%d running jobs did not finish within the grace period; recorded as interrupted", interrupted)
    if stopped_by and stopped_by[0] in ("SIGTERM", "SIGINT", "SIGQUIT"):
        return 0  # asked to stop: a clean stop, whatever Celery's cold shutdown says
    return int(worker.exitcode or 0)
