"""The body of a local worker process: import the jobs once, then run one order at a time, forever.

A worker speaks to its supervisor over one pipe: it sends ``WorkerReady`` once its jobs are imported, then receives
``RunOrder``s and answers each with a ``RunReport``; ``None`` (or the pipe closing) tells it to exit. It runs at a
lower CPU priority than the server, ignores Ctrl-C (the server decides when it stops) and dies with its parent.
It never opens the database.

This module is preloaded by the fork server that starts the workers, so it imports only what every worker needs:
no Slack, no SQLAlchemy, no ``storage``, no ``handlers``.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

from bot.executor.execution import execute, install_soft_limit_handler
from bot.executor.orders import RunOrder
from bot.registry import discover

PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class WorkerReady:
    """A worker's first message: its jobs are imported and it takes orders.

    Attributes:
        pid: the worker's process id.
        jobs: how many jobs it found.
        load_errors: how many job modules or classes failed to load (the server reports them itself).
    """

    pid: int
    jobs: int
    load_errors: int


def worker_main(conn: Connection, jobs_paths: tuple[str, ...], entry_points: bool, nice: int) -> None:
    """Run orders received on ``conn`` until told to stop.

    Args:
        conn: this worker's end of its pipe to the supervisor.
        jobs_paths: the directories of job modules (``JOBGATE_JOBS_PATH``).
        entry_points: also load the ``jobgate.jobs`` entry points.
        nice: how much to lower this process's CPU priority.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent()
    if nice:
        os.nice(nice)
    install_soft_limit_handler()
    discovery = discover([Path(p) for p in jobs_paths], entry_points=entry_points)
    conn.send(WorkerReady(pid=os.getpid(), jobs=len(discovery.jobs), load_errors=len(discovery.errors)))
    while True:
        try:
            order = conn.recv()
        except (EOFError, OSError):  # the supervisor is gone
            return
        if not isinstance(order, RunOrder):
            return
        found = discovery.jobs.get(order.job_slug)
        report = execute(order, found.job_class if found is not None else None,
                         loaded_version=found.version if found is not None else "")
        try:
            conn.send(report)
        except (BrokenPipeError, OSError):
            return
        if report.retire_process:
            return


def _die_with_parent() -> None:
    """Ask Linux to kill this process when its parent dies, so a killed server leaves no job running on."""
    if not sys.platform.startswith("linux"):
        return
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        return
