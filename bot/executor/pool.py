"""The local executor's pool: worker processes that run one order at a time, and the thread that supervises them.

``WorkerPool`` keeps ``size`` worker processes (``bot.executor.worker``, each in a ``WorkerSlot``); each imports the
jobs once, at start. One supervisor thread owns the workers' state. It waits on the workers' pipes, their process
sentinels and a wake-up pipe at once, and:

- hands queued orders to idle workers (over the pipe: no database round trip per run);
- delivers each report to ``on_report`` (called on the supervisor thread: it must be quick);
- sends the soft time limit's signal at ``soft_time_limit`` (raised inside the job only while it runs), and at
  ``time_limit`` kills the worker and reports the run ``errored`` naming the limit;
- reports a worker that died mid-run as ``errored`` with its exit code or signal, and starts a fresh worker in the
  place of any that died (with a back-off when workers die before they are even ready, e.g. a job module that
  exits on import).

Must not import Slack, SQLAlchemy, ``storage`` or ``handlers``.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection, wait
from pathlib import Path

from bot.executor.execution import WORKER_NICE
from bot.executor.orders import (
    RunOrder,
    RunReport,
    describe_exit,
    interrupted_by_shutdown,
    process_exited,
    time_limit_exceeded,
)
from bot.executor.slots import MAX_RESTART_DELAY, WorkerHealth, WorkerSlot, worker_context
from bot.executor.worker import WorkerReady
from bot.logs import about, ids

__all__ = ["PoolStoppedError", "WorkerHealth", "WorkerPool"]

log = logging.getLogger(__name__)


class PoolStoppedError(RuntimeError):
    """An order was submitted to a pool that is stopping or stopped."""


class WorkerPool:
    """A supervised pool of worker processes, each running one order at a time.

    Args:
        size: how many worker processes (``JOBGATE_WORKERS``).
        jobs_paths: the directories of job modules the workers import (``JOBGATE_JOBS_PATH``).
        on_report: receives every run report, on the supervisor thread; must be quick and must not raise.
        entry_points: the workers also load the ``jobgate.jobs`` entry points.
        nice: how much lower the workers' CPU priority is than the server's.
        kill_wait: how long to wait for a killed worker to be gone before its place is retaken.
    """

    def __init__(
        self,
        *,
        size: int,
        jobs_paths: Sequence[Path],
        on_report: Callable[[RunReport], None],
        entry_points: bool = True,
        nice: int = WORKER_NICE,
        kill_wait: float = 5.0,
    ) -> None:
        if size < 1:
            raise ValueError("a worker pool needs at least one worker")
        self.size = size
        self.on_report = on_report
        self.kill_wait = kill_wait
        self._lock = threading.Lock()
        context = worker_context()
        args = (tuple(str(p) for p in jobs_paths), entry_points, nice)
        self._slots = [WorkerSlot(i, context, args) for i in range(size)]
        self._queue: deque[RunOrder] = deque()
        self._in_flight: set[str] = set()
        self._accepting = False
        self._stop_deadline: float | None = None
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self._thread: threading.Thread | None = None
        self._ready = threading.Condition(self._lock)
        self.completed = 0

    # ------------------------------------------------------------------------------------------------- interface

    def start(self) -> None:
        """Start the workers and the supervisor; returns at once (``wait_ready`` waits for the workers)."""
        with self._lock:
            self._accepting = True
        for slot in self._slots:
            slot.spawn()
        self._thread = threading.Thread(target=self._supervise, name="jobgate-workers", daemon=True)
        self._thread.start()
        atexit.register(self._kill_all)

    def wait_ready(self, timeout: float) -> bool:
        """Wait until every worker has imported its jobs; False if that took longer than ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with self._ready:
            while not all(slot.ready for slot in self._slots):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._ready.wait(remaining)
        return True

    def submit(self, order: RunOrder) -> None:
        """Queue an order; the next idle worker runs it.

        Raises:
            PoolStoppedError: the pool is stopping or stopped.
        """
        with self._lock:
            if not self._accepting:
                raise PoolStoppedError("the worker pool is not accepting work")
            self._queue.append(order)
            self._in_flight.add(order.job_result_id)
        self._wake()

    @property
    def accepting(self) -> bool:
        """Started and not stopping: orders are taken."""
        with self._lock:
            return self._accepting

    def free_slots(self) -> int:
        """How many more orders would start at once: workers minus the orders running or queued (never < 0)."""
        with self._lock:
            if not self._accepting:
                return 0
            return max(0, self.size - len(self._in_flight))

    def in_flight(self) -> list[str]:
        """The job result ids submitted and not yet reported (queued or running), for lease heartbeats."""
        with self._lock:
            return list(self._in_flight)

    @property
    def busy(self) -> int:
        """How many workers are running a job."""
        with self._lock:
            return sum(slot.order is not None for slot in self._slots)

    def health(self) -> list[WorkerHealth]:
        """A snapshot of every worker."""
        with self._lock:
            return [slot.health() for slot in self._slots]

    def stop(self, grace: float) -> list[RunOrder]:
        """Stop taking orders, let running jobs finish within ``grace`` seconds, then end the workers.

        Runs still going after the grace period are killed and reported ``errored`` (interrupted by the shutdown)
        through ``on_report``.

        Returns:
            The orders that were queued and never started (the caller gives their claims back).
        """
        with self._lock:
            self._accepting = False
            self._stop_deadline = time.monotonic() + max(0.0, grace)
            unstarted = list(self._queue)
            self._queue.clear()
            for order in unstarted:
                self._in_flight.discard(order.job_result_id)
        self._wake()
        if self._thread is not None:
            self._thread.join()
        atexit.unregister(self._kill_all)
        return unstarted

    def recycle(self) -> None:
        """Replace every worker process so the next runs use the job code as it is now (after job modules changed):
        idle ones at once, busy ones as soon as their run ends. Runs in progress are not disturbed."""
        with self._lock:
            for slot in self._slots:
                slot.stale = True
        self._wake()

    # ------------------------------------------------------------------------------------------------ supervision

    def _wake(self) -> None:
        with contextlib.suppress(OSError):  # the pipe is full (the supervisor is awake anyway), or closed (stopped)
            os.write(self._wake_w, b"\0")

    def _supervise(self) -> None:
        while True:
            try:
                if self._supervise_once():
                    return
            except Exception:  # a bug here must not leave the workers unsupervised: log it, look again shortly
                log.exception("supervising the worker processes failed; going on")
                time.sleep(0.1)

    def _supervise_once(self) -> bool:
        """One round: limits, replacements, hand-outs, then wait for the next event; True once stopped."""
        now = time.monotonic()
        self._enforce_limits(now)
        self._replace_stale()
        self._restart_dead(now)
        self._assign()
        with self._lock:
            stopping = not self._accepting
            deadline = self._stop_deadline
        if stopping:
            busy = [slot for slot in self._slots if slot.order is not None]
            if not busy or (deadline is not None and now >= deadline):
                self._interrupt(busy)
                self._end_workers()
                return True
        waitables: list[Connection | int] = [self._wake_r]
        for slot in self._slots:
            if slot.conn is not None and slot.sentinel is not None:
                waitables += [slot.conn, slot.sentinel]
        moments = [m for slot in self._slots for m in slot.deadlines()] + ([deadline] if stopping and deadline
                                                                           else [])
        try:
            ready = wait(waitables, timeout=max(0.0, min(moments) - now) if moments else None)
        except OSError:  # a descriptor closed under us; look again
            ready = []
        if self._wake_r in ready:
            with contextlib.suppress(BlockingIOError):
                while os.read(self._wake_r, 4096):
                    pass
        for slot in self._slots:  # messages first: a report sent just before its process exited counts
            if slot.conn is not None and slot.conn in ready:
                self._receive(slot)
        for slot in self._slots:
            if slot.sentinel is not None and slot.sentinel in ready:
                self._reap(slot)
        return False

    def _receive(self, slot: WorkerSlot) -> None:
        for message in slot.messages():
            if isinstance(message, WorkerReady):
                with self._ready:
                    slot.ready = slot.started = True
                    slot.quick_deaths = 0
                    self._ready.notify_all()
                if message.load_errors:
                    log.warning("worker %d: %d job modules or classes failed to load", slot.index,
                                message.load_errors)
            elif isinstance(message, RunReport):
                self._finished(slot, message)

    def _finished(self, slot: WorkerSlot, report: RunReport) -> None:
        with self._lock:
            order = slot.order
            if order is None or order.job_result_id != report.job_result_id:
                return  # already reported (killed at its limit just as it finished)
            slot.order = None
            slot.runs += 1
            self._in_flight.discard(report.job_result_id)
            self.completed += 1
        self._deliver(report)

    def _deliver(self, report: RunReport) -> None:
        try:
            self.on_report(report)
        except Exception:  # the supervisor must outlive a failing callback
            log.exception("recording the report of job result %s failed", report.job_result_id)

    def _assign(self) -> None:
        while True:
            with self._lock:
                if not self._queue:
                    return
                slot = next((s for s in self._slots if s.ready and s.order is None and s.conn is not None), None)
                if slot is None:
                    return
                order = self._queue.popleft()
                slot.order = order
            if not slot.send(order, now=time.monotonic()):  # died while idle: the order goes back to the front
                with self._lock:
                    slot.order = None
                    slot.ready = False
                    self._queue.appendleft(order)
                return
            log.info("job result %s of %s started in worker %d, as %s%s", order.job_result_id, order.job_slug,
                     slot.index, order.user_id, "" if order.commit else " (dry run)",
                     extra=about(job_result_id=order.job_result_id, scheduled_job_id=order.scheduled_job_id,
                                 job=order.job_slug, user_id=order.user_id))

    def _enforce_limits(self, now: float) -> None:
        for slot in self._slots:
            order = slot.order
            if order is None or slot.process is None:
                continue
            if slot.hard_deadline is not None and now >= slot.hard_deadline:
                log.warning("job result %s passed its time limit of %g s; ending worker %d (pid %s)",
                            order.job_result_id, order.time_limit, slot.index, slot.process.pid,
                            extra=ids(job_result_id=order.job_result_id))
                slot.kill()
                self._release(slot, time_limit_exceeded(order.job_result_id, order.time_limit,
                                                        started_at=slot.started_at))
            elif slot.soft_deadline is not None and now >= slot.soft_deadline:
                slot.raise_soft_limit()

    def _release(self, slot: WorkerSlot, report: RunReport) -> None:
        """End the slot's run with ``report`` (its process is dead or being killed)."""
        with self._lock:
            slot.order = None
            slot.ready = False
            self._in_flight.discard(report.job_result_id)
        self._deliver(report)

    def _reap(self, slot: WorkerSlot) -> None:
        pid, order = slot.process.pid if slot.process is not None else None, slot.order
        with self._lock:
            exitcode = slot.collect(self.kill_wait)
            stopping = not self._accepting
        if order is not None:
            log.warning("worker %d (pid %s) exited (%s) while running job result %s", slot.index, pid,
                        describe_exit(exitcode), order.job_result_id, extra=ids(job_result_id=order.job_result_id))
            self._release(slot, process_exited(order.job_result_id, exitcode, started_at=slot.started_at))
        if stopping:
            return
        delay = slot.next_start_delay()
        if slot.quick_deaths > 1:
            log.error("worker %d keeps exiting before it is ready; next start in %.1f s", slot.index, delay)
        slot.restart_at = time.monotonic() + delay

    def _replace_stale(self) -> None:
        """End the idle workers that imported job code older than the catalog's; ``_restart_dead`` starts new ones."""
        with self._lock:
            if not self._accepting:
                return
            for slot in self._slots:
                if slot.stale and slot.order is None:
                    slot.stale = False
                    if slot.process is not None:
                        slot.end(self.kill_wait)
                        slot.restart_at = 0.0

    def _restart_dead(self, now: float) -> None:
        with self._lock:
            if not self._accepting:
                return
        for slot in self._slots:
            if slot.process is None and now >= slot.restart_at:
                slot.restarts += 1
                try:
                    with self._lock:
                        slot.spawn()
                except OSError:
                    log.exception("cannot start worker %d; trying again shortly", slot.index)
                    slot.restart_at = now + MAX_RESTART_DELAY

    def _interrupt(self, busy: list[WorkerSlot]) -> None:
        for slot in busy:
            order = slot.order
            if order is None:
                continue
            slot.kill()
            self._release(slot, interrupted_by_shutdown(order.job_result_id, started_at=slot.started_at))

    def _end_workers(self) -> None:
        for slot in self._slots:
            with self._lock:
                slot.end(self.kill_wait)
        os.close(self._wake_r)
        os.close(self._wake_w)

    def _kill_all(self) -> None:
        """At interpreter exit without a ``stop()``: leave no worker behind."""
        for slot in self._slots:
            slot.kill()
