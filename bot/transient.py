"""Job data that must never be stored: the values of jobs with sensitive variables, held in memory until they run.

A job result for such a job is pinned to the process that received the request (its runner id); only that process
can run it, and the data is dropped as soon as the run starts. Must not import Slack, SQLAlchemy or storage.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from typing import Any


def new_runner_id() -> str:
    """A name for this process that no other process, here or on another host, shares."""
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class SensitiveHandover:
    """A thread-safe, in-memory hand-over of sensitive data from the request to this process's runner.

    Args:
        runner_id: this process's runner identity; runs of jobs with sensitive variables are pinned to it.
    """

    def __init__(self, runner_id: str | None = None) -> None:
        self.runner_id = runner_id or new_runner_id()
        self._lock = threading.Lock()
        self._data: dict[str, dict[str, Any]] = {}

    def put(self, job_result_id: str, data: dict[str, Any]) -> None:
        with self._lock:
            self._data[job_result_id] = data

    def pop(self, job_result_id: str) -> dict[str, Any] | None:
        with self._lock:
            return self._data.pop(job_result_id, None)

    def __contains__(self, job_result_id: object) -> bool:
        with self._lock:
            return job_result_id in self._data

    def __len__(self) -> int:
        with self._lock:
            return len(self._data)

    def __repr__(self) -> str:  # never show the values
        return f"SensitiveHandover({self.runner_id}, {len(self)} pending)"
