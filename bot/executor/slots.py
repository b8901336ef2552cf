"""One place in the local worker pool and the worker process that holds it (a fresh one after each death).

A ``WorkerSlot`` starts its process from the fork server (the serving process has threads, so forking it directly
could copy a lock one of them holds into the child; the fork server is a fresh, single-threaded interpreter that has
imported ``bot.executor.worker`` once, and each worker is a cheap fork of it), talks to it over one pipe, keeps the
deadlines of the order it runs, and ends it. Only the pool's supervisor thread drives a slot; the pool's lock guards
what other threads read (``order``, ``ready``). Must not import Slack, SQLAlchemy, ``storage`` or ``handlers``.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from multiprocessing.context import ForkServerContext, SpawnContext
from multiprocessing.process import BaseProcess

from bot.executor.execution import SOFT_LIMIT_SIGNAL
from bot.executor.orders import RunOrder
from bot.executor.worker import worker_main

WORKER_MODULE = "bot.executor.worker"
MAX_RESTART_DELAY = 5.0
"""The longest wait before starting a fresh worker in a slot whose workers keep dying before they are ready."""


@dataclass(frozen=True, kw_only=True)
class WorkerHealth:
    """One worker process as ``/healthz`` shows it.

    Attributes:
        slot: the worker's place in the pool (stable across replacements).
        pid: its process id (internal: not shown to unauthenticated callers), or None between processes.
        alive: a process is running in this slot and has imported its jobs.
        busy: it is running a job.
        job_result_id: the job result it is running, or None.
        runs: how many runs this slot finished.
        restarts: how many times a fresh process took this slot's place.
    """

    slot: int
    pid: int | None
    alive: bool
    busy: bool
    job_result_id: str | None
    runs: int
    restarts: int


def worker_context() -> ForkServerContext | SpawnContext:
    """The fork server context, with the worker module preloaded (spawn where there is no fork server)."""
    if "forkserver" not in multiprocessing.get_all_start_methods():  # pragma: no cover - not on Linux
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([WORKER_MODULE])
    return context


class WorkerSlot:
    """One place in the pool.

    Args:
        index: its place (stable across replacements).
        context: where its processes come from (``worker_context()``).
        worker_args: what ``worker_main`` gets besides its pipe: jobs paths, entry points, nice.
    """

    def __init__(self, index: int, context: ForkServerContext | SpawnContext,
                 worker_args: tuple[tuple[str, ...], bool, int]) -> None:
        self.index = index
        self.context = context
        self.worker_args = worker_args
        self.process: BaseProcess | None = None
        self.conn: Connection | None = None
        self.ready = False  # its process has imported its jobs and takes orders
        self.stale = False  # its process imported job code that has changed since: replace it once idle
        self.started = False  # its process got as far as being ready once
        self.order: RunOrder | None = None
        self.started_at = datetime.now(UTC)
        self.soft_deadline: float | None = None
        self.hard_deadline: float | None = None
        self.restart_at = 0.0
        self.quick_deaths = 0
        self.runs = 0
        self.restarts = 0

    def spawn(self) -> None:
        """Start a fresh worker process in this slot."""
        parent_end, child_end = self.context.Pipe(duplex=True)
        process = self.context.Process(target=worker_main, args=(child_end, *self.worker_args),
                                       name=f"jobgate-worker-{self.index}")
        process.start()
        child_end.close()
        self.process, self.conn = process, parent_end
        self.ready = self.started = False
        self.started_at = datetime.now(UTC)

    @property
    def sentinel(self) -> int | None:
        return self.process.sentinel if self.process is not None else None

    def messages(self) -> list[object]:
        """Everything its process sent that is waiting on the pipe (nothing once the process is gone)."""
        found: list[object] = []
        if self.conn is None:
            return found
        with contextlib.suppress(EOFError, OSError):  # gone: its sentinel tells the rest
            while self.conn.poll():
                found.append(self.conn.recv())
        return found

    def send(self, order: RunOrder, *, now: float) -> bool:
        """Hand ``order`` to the process and start its clocks; False if the process is gone (the order is not sent)."""
        assert self.conn is not None
        self.started_at = datetime.now(UTC)
        self.soft_deadline = now + order.soft_time_limit if order.soft_time_limit is not None else None
        self.hard_deadline = now + order.time_limit
        try:
            self.conn.send(order)
        except OSError:  # BrokenPipeError included: it died while idle
            return False
        return True

    def deadlines(self) -> list[float]:
        """The moments the supervisor must look at this slot again."""
        if self.process is None:
            return [self.restart_at]
        if self.order is None:
            return []
        return [m for m in (self.soft_deadline, self.hard_deadline) if m is not None]

    def raise_soft_limit(self) -> None:
        """Ask the job to stop: its process raises ``SoftTimeLimitExceeded`` inside the job (once)."""
        self.soft_deadline = None
        if self.process is not None and self.process.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.process.pid, SOFT_LIMIT_SIGNAL)

    def kill(self) -> None:
        if self.process is not None and self.process.exitcode is None:
            self.process.kill()

    def collect(self, wait: float) -> int:
        """After its process exited: its exit code (minus the signal that ended it); the slot is empty then."""
        process = self.process
        assert process is not None
        process.join(wait)
        exitcode = process.exitcode if process.exitcode is not None else -9
        if self.conn is not None:
            self.conn.close()
        process.close()
        if not self.started:
            self.quick_deaths += 1
        self.process = self.conn = None
        self.ready = False
        return exitcode

    def next_start_delay(self) -> float:
        """0 after a worker that had started; a growing delay while workers die before they are even ready."""
        if not self.quick_deaths:
            return 0.0
        return float(min(MAX_RESTART_DELAY, 0.1 * 2.0 ** (self.quick_deaths - 1)))

    def end(self, wait: float) -> None:
        """Ask the process to exit, and kill it if it has not within ``wait`` seconds."""
        process = self.process
        if process is None:
            return
        if self.conn is not None:
            with contextlib.suppress(OSError):
                self.conn.send(None)
        process.join(wait)
        if process.exitcode is None:
            process.kill()
            process.join(wait)
        if self.conn is not None:
            self.conn.close()
        self.process = self.conn = None
        self.ready = False

    def health(self) -> WorkerHealth:
        return WorkerHealth(
            slot=self.index,
            pid=self.process.pid if self.process is not None else None,
            alive=self.process is not None and self.ready,
            busy=self.order is not None,
            job_result_id=self.order.job_result_id if self.order is not None else None,
            runs=self.runs,
            restarts=self.restarts,
        )
