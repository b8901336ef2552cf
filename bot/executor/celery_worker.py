"""``jobgate worker``: a Celery worker that runs jobs, and the database side of its task (``WorkerRuntime``).

The worker's main process imports the jobs once, before its pool starts; the pool processes (forked from it) inherit
them. In a pool process the task claims its job result by compare-and-set and records the outcome under the runner
id ``host:pid:nonce`` of that pool process (trying again, for a while, when the database is briefly unreachable);
the main process knows which pool process runs which message, so it renews their leases (a heartbeat thread) and,
when Celery ends a pool process at a hard time limit or finds one dead, records that run ``errored`` with the reason
at once. A killed worker (main process and pool, ``kill -9``) leaves its runs to the reaper of the serving
processes: at once on the same host, when the lease expires elsewhere.

A message of several runs (many were due at once) is claimed in one statement, none of its runs started; the pool
process then runs them one after another, each started in the transaction that records the outcome of the one before
(one transaction per run). A run claimed but not started when its process dies goes back to ``pending`` and is
published again; the run in progress ends ``errored`` as above. Each run keeps its own time limits, enforced in the
pool process by a timer (``SIGALRM``): the soft one as always, the hard one ends the run ``errored`` naming its limit
and retires the process, giving back the runs of the message not started; Celery's limit for the message (the sum of
its runs' hard limits) is only the backstop for a job that cannot be interrupted. A message whose runs took longer than
``BATCH_PATIENCE`` gives back the rest, so that other processes take them.
Must not import Slack or handlers.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import signal
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
from bot.executor import execution
from bot.executor.celery_app import CelerySoftTimeLimit, bind_runtime, build_celery_app, message_ids
from bot.executor.committer import RETRY_FIRST, RETRY_MAX
from bot.executor.execution import SOFT_LIMIT_SIGNAL, execute, install_soft_limit_handler
from bot.executor.orders import (
    SHUTDOWN_INTERRUPTED,
    SHUTDOWN_INTERRUPTED_MESSAGE,
    RunOrder,
    RunReport,
    process_exited,
    time_limit_exceeded,
)
from bot.executor.runs import DEFAULT_LEASE, fail_held, host_name, prepare, record_outcomes, renew_leases
from bot.logs import about, ids
from bot.registry import discover
from storage.db import Database
from storage.repositories import ClaimedJobResult, Repositories

log = logging.getLogger(__name__)

RECORD_PATIENCE = 300.0
"""How long a pool process keeps trying to record an outcome while the database is unreachable (seconds)."""

BATCH_PATIENCE = 1.0
"""Seconds after which a pool process running a message of several runs gives back the runs it has not started."""


class HardTimeLimit(BaseException):
    """A run of a message of several runs reached its hard time limit (raised inside the job; not an ``Exception``,
    so that a job's ``except Exception`` does not swallow it)."""


class _RunLimits:
    """The time limits of the run in progress in this pool process, as a ``SIGALRM`` timer."""

    def __init__(self) -> None:
        self.hard_after: float | None = None

    def install(self) -> None:
        signal.signal(signal.SIGALRM, self._alarm)

    def arm(self, soft: float | None, hard: float) -> None:
        if soft is not None:
            self.hard_after = hard - soft
            signal.setitimer(signal.ITIMER_REAL, soft)
        else:
            self.hard_after = None
            signal.setitimer(signal.ITIMER_REAL, hard)

    def disarm(self) -> None:
        signal.setitimer(signal.ITIMER_REAL, 0)
        self.hard_after = None

    def _alarm(self, signum: int, frame: Any) -> None:
        if self.hard_after is not None:  # the soft limit: the hard one follows
            signal.setitimer(signal.ITIMER_REAL, max(self.hard_after, 0.001))
            self.hard_after = None
            execution.soft_limit_reached()
            return
        if execution.in_job():
            raise HardTimeLimit()



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
        self._limits = _RunLimits()
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

    def run(self, job_result_ids: str | list[str]) -> None:
        if self._soft_limit_pid != os.getpid():  # the first run in this pool process
            # Installed over billiard's own handler, which raises anywhere, even while an outcome is recorded.
            install_soft_limit_handler(SOFT_LIMIT_SIGNAL, CelerySoftTimeLimit)
            self._limits.install()
            self._soft_limit_pid = os.getpid()
        if isinstance(job_result_ids, list):
            self._run_several(job_result_ids)
            return
        job_result_id = job_result_ids
        runner_id = self.runner_id(os.getpid())
        with self.db.single_statement() as session:
            claimed = Repositories(session).job_results.claim_one(job_result_id, runner_id=runner_id,
                                                                  now=self.clock(), lease=self.lease)
        if claimed is None:
            log.info("job result %s is not pending (run already, or running elsewhere): message ignored",
                     job_result_id, extra=ids(job_result_id=job_result_id))
            return
        found = self.discovery.jobs.get(claimed.job.slug) if claimed.job is not None else None
        prepared = prepare(claimed, code_present=found is not None, sensitive_data=None,
                           default_time_limit=self.settings.default_time_limit)
        report: RunReport
        if prepared.refused is not None:
            report = prepared.refused
        else:
            assert prepared.order is not None and found is not None
            _log_start(prepared.order)
            report = execute(prepared.order, found.job_class, loaded_version=found.version)
        if self._record(report, claimed.user_id, runner_id):
            seconds = max(0.0, (report.finished_at - report.started_at).total_seconds())
            job = claimed.job.slug if claimed.job is not None else claimed.name
            log.info("job result %s of %s %s in %.2f s, as %s", job_result_id, job, report.status, seconds,
                     claimed.user_id, extra=about(job_result_id=job_result_id, job=job, user_id=claimed.user_id,
                                                  scheduled_job_id=claimed.scheduled_job_id))
        if report.retire_process:
            raise SystemExit(1)  # out of memory: Celery starts a fresh pool process

    def _run_several(self, job_result_ids: list[str]) -> None:
        """Claim the runs of one message at once, then start, run and record them one after another."""
        runner_id = self.runner_id(os.getpid())
        with self.db.single_statement() as session:
            claimed = Repositories(session).job_results.claim_batch(job_result_ids, runner_id=runner_id,
                                                                    now=self.clock(), lease=self.lease)
        if not claimed:
            log.info("job results %s are not pending (run already, or running elsewhere): message ignored",
                     ", ".join(job_result_ids))
            return
        began = time.monotonic()
        previous: tuple[RunReport, str | None] | None = None
        for index, item in enumerate(claimed):
            if index and time.monotonic() - began > BATCH_PATIENCE:
                rest = [c.id for c in claimed[index:]]
                self._write(previous, runner_id, give_back=rest)
                log.info("%d runs of a message given back after %.1f s, for other processes to take", len(rest),
                         time.monotonic() - began)
                return
            started = self._write(previous, runner_id, start=item.id)
            previous = None
            if not started:  # given back or reaped meanwhile: someone else runs it, or nobody may
                continue
            report = self._execute_limited(item)
            previous = (report, item.user_id)
            if report.retire_process:
                self._write(previous, runner_id, give_back=[c.id for c in claimed[index + 1:]])
                raise SystemExit(1)  # a fresh pool process takes the next message
        self._write(previous, runner_id)

    def _execute_limited(self, item: ClaimedJobResult) -> RunReport:
        """Run one claimed run of a message of several, within its own time limits."""
        found = self.discovery.jobs.get(item.job.slug) if item.job is not None else None
        started_at = self.clock()
        prepared = prepare(dataclasses.replace(item, started_at=started_at), code_present=found is not None,
                           sensitive_data=None, default_time_limit=self.settings.default_time_limit)
        if prepared.refused is not None:
            return prepared.refused
        assert prepared.order is not None and found is not None
        order = prepared.order
        _log_start(order)
        self._limits.arm(order.soft_time_limit, order.time_limit)
        try:
            return execute(order, found.job_class)
        except HardTimeLimit:
            return dataclasses.replace(time_limit_exceeded(order.job_result_id, order.time_limit,
                                                           started_at=started_at), retire_process=True)
        finally:
            self._limits.disarm()

    def _write(self, previous: tuple[RunReport, str | None] | None, runner_id: str, *, start: str | None = None,
               give_back: list[str] | None = None) -> bool:
        """One transaction: record the outcome of the run before (if any), give back runs not started, and start
        ``start``; returns whether ``start`` is this runner's to run. Tried again like ``_record``."""
        wait = RETRY_FIRST
        deadline = time.monotonic() + RECORD_PATIENCE
        while True:
            try:
                with self.db.write() as session:
                    repos = Repositories(session)
                    if previous is not None:
                        record_outcomes(repos, [previous], runner_id=runner_id, now=self.clock())
                    if give_back:
                        repos.job_results.give_back(give_back, runner_id=runner_id)
                    if start is None:
                        return False
                    return repos.job_results.start_claimed(start, runner_id=runner_id, now=self.clock(),
                                                           lease=self.lease)
            except DatabaseUnavailableError as exc:
                if time.monotonic() + wait > deadline:
                    raise  # the runs stay running; the reaper ends or gives them back when the lease expires
                log.warning("recording the outcome of job result %s failed (%s); trying again in %.2f s",
                            previous[0].job_result_id if previous else start, exc.__cause__ or exc, wait)
                time.sleep(wait)
                wait = min(RETRY_MAX, wait * 2)

    def _record(self, report: RunReport, user_id: str | None, runner_id: str) -> bool:
        """Record a run's outcome; returns whether it was (this runner still held the run). While the database is
        unreachable, try again with a growing back-off, for up to ``RECORD_PATIENCE``: the message stays active
        meanwhile, so the main process's heartbeat keeps the lease."""
        wait = RETRY_FIRST
        deadline = time.monotonic() + RECORD_PATIENCE
        while True:
            try:
                with self.db.write() as session:
                    recorded = record_outcomes(Repositories(session), [(report, user_id)], runner_id=runner_id,
                                               now=self.clock())
                return bool(recorded)
            except DatabaseUnavailableError as exc:
                if time.monotonic() + wait > deadline:
                    raise  # the run stays running; the reaper marks it interrupted when its lease expires
                log.warning("recording the outcome of job result %s failed (%s); trying again in %.2f s",
                            report.job_result_id, exc.__cause__ or exc, wait,
                            extra=ids(job_result_id=report.job_result_id))
                time.sleep(wait)
                wait = min(RETRY_MAX, wait * 2)

    # -------------------------------------------------------------------------------------- in the main process

    def warm_up(self) -> None:
        """In a new pool process: connect to the database and prepare the claim now, not in its first run."""
        with self.db.single_statement() as session:  # a claim of no run: the statement is compiled and cached
            Repositories(session).job_results.claim_one(str(uuid.UUID(int=0)), runner_id=self.runner_id(os.getpid()),
                                                        now=self.clock(), lease=self.lease)

    def process_lost(self, job_result_ids: list[str], *, worker_pid: int, exitcode: int) -> None:
        self._fail(job_result_ids, process_exited("", exitcode, started_at=self.clock()), worker_pid)

    def time_limit_exceeded(self, job_result_ids: list[str], *, worker_pid: int, time_limit: float) -> None:
        self._fail(job_result_ids, time_limit_exceeded("", time_limit, started_at=self.clock()), worker_pid)

    def _fail(self, job_result_ids: list[str], report: RunReport, worker_pid: int) -> None:
        """The run of the message in progress ends ``errored`` with the report's reason; runs of the message not
        started go back to ``pending``."""
        assert report.error is not None
        if fail_held(self.db, job_result_ids, runner_id=self.runner_id(worker_pid), error=report.error,
                     message=report.log[-1].message, now=self.clock()):
            log.warning("job result(s) %s errored: %s", ", ".join(job_result_ids), report.error,
                        extra=ids(job_result_id=job_result_ids[0] if len(job_result_ids) == 1 else None))

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
                found.setdefault(self.runner_id(request.worker_pid), []).extend(message_ids(request.args))
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


def _log_start(order: RunOrder) -> None:
    log.info("job result %s of %s started in pool process %d, as %s%s", order.job_result_id, order.job_slug,
             os.getpid(), order.user_id, "" if order.commit else " (dry run)",
             extra=about(job_result_id=order.job_result_id, scheduled_job_id=order.scheduled_job_id,
                         job=order.job_slug, user_id=order.user_id))
