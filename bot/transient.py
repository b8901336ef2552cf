"""Job data that must never be stored: the values of jobs with sensitive variables, held in memory until they run.

A job result for such a job is pinned to the process that received the request (its runner id); only that process
can run it. The data is dropped at every end of the pending run: when the run starts (the executor takes it), when
the request is not committed after all, and when its hand-over deadline passes (the run is then errored as not
started in time, and its data is gone whether or not anyone reaps it). Expired entries are dropped on every
:meth:`SensitiveHandover.put` and :meth:`SensitiveHandover.expire` (the executor calls it on each claim round), and
the store holds at most ``max_pending`` entries: beyond that a request is refused. Must not import Slack, SQLAlchemy
or storage.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from datetime import datetime
from typing import Any

from bot.domain.errors import DomainError, ErrorKind

MAX_PENDING = 1000
"""How many sensitive runs may wait in one process's memory at once."""


def new_runner_id() -> str:
    """A name for this process that no other process, here or on another host, shares."""
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class HandoverFullError(DomainError):
    """Too many runs of jobs with sensitive variables wait to start in this process."""

    kind = ErrorKind.CONFLICT


class SensitiveHandover:
    """A thread-safe, bounded, in-memory hand-over of sensitive data from the request to this process's runner.

    Args:
        runner_id: this process's runner identity; runs of jobs with sensitive variables are pinned to it.
        max_pending: how many entries it holds at most.
    """

    def __init__(self, runner_id: str | None = None, *, max_pending: int = MAX_PENDING) -> None:
        self.runner_id = runner_id or new_runner_id()
        self.max_pending = max_pending
        self._lock = threading.Lock()
        self._data: dict[str, tuple[dict[str, Any], datetime]] = {}

    def put(self, job_result_id: str, data: dict[str, Any], *, until: datetime, now: datetime) -> None:
        """Hold a run's data until it starts, at most until ``until`` (its hand-over deadline).

        Raises:
            HandoverFullError: ``max_pending`` runs already wait (after dropping those past their deadline).
        """
        with self._lock:
            self._drop_expired(now)
            if len(self._data) >= self.max_pending:
                raise HandoverFullError(
                    f"Too many runs of jobs with sensitive variables ({self.max_pending}) are waiting to start on "
                    "this server; try again in a few minutes.")
            self._data[job_result_id] = (data, until)

    def pop(self, job_result_id: str) -> dict[str, Any] | None:
        """Take a run's data (the run starts); None when it is not here (any more)."""
        with self._lock:
            found = self._data.pop(job_result_id, None)
        return found[0] if found is not None else None

    def discard(self, job_result_id: str) -> None:
        """Drop a run's data: the run ended without starting (or its request was not committed)."""
        with self._lock:
            self._data.pop(job_result_id, None)

    def expire(self, now: datetime) -> int:
        """Drop the data of runs whose hand-over deadline passed; returns how many."""
        with self._lock:
            return self._drop_expired(now)

    def _drop_expired(self, now: datetime) -> int:
        late = [key for key, (_, until) in self._data.items() if until <= now]
        for key in late:
            del self._data[key]
        return len(late)

    def __contains__(self, job_result_id: object) -> bool:
        with self._lock:
            return job_result_id in self._data

    def __len__(self) -> int:
        with self._lock:
            return len(self._data)

    def __repr__(self) -> str:  # never show the values
        return f"SensitiveHandover({self.runner_id}, {len(self)} pending)"
