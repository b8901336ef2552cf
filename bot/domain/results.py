"""Job result statuses and their allowed transitions.

Pure: must not import Slack, SQLAlchemy or storage.
"""

from __future__ import annotations

from enum import StrEnum


class JobResultStatus(StrEnum):
    """The state of one execution of a job.

    PENDING: created, waiting for a runner to claim it.
    RUNNING: claimed by a runner that holds its lease.
    COMPLETED: the job ran and logged no failure.
    FAILED: the job logged a failure or raised an exception.
    ERRORED: the job could not run (disabled since approval, code missing) or was interrupted.
    MISSED: a due time the misfire policy did not run.
    """

    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    ERRORED = "errored"
    MISSED = "missed"

    @property
    def label(self) -> str:
        return self.value.capitalize()

    @property
    def is_final(self) -> bool:
        return self in FINAL_STATUSES


FINAL_STATUSES = frozenset(
    {JobResultStatus.COMPLETED, JobResultStatus.FAILED, JobResultStatus.ERRORED, JobResultStatus.MISSED}
)

ALLOWED_TRANSITIONS: dict[JobResultStatus, frozenset[JobResultStatus]] = {
    JobResultStatus.PENDING: frozenset({JobResultStatus.RUNNING, JobResultStatus.ERRORED}),
    JobResultStatus.RUNNING: frozenset({JobResultStatus.COMPLETED, JobResultStatus.FAILED, JobResultStatus.ERRORED}),
}


def can_transition(current: JobResultStatus, new: JobResultStatus) -> bool:
    """True when a job result may move from ``current`` to ``new``; final states never change."""
    return new in ALLOWED_TRANSITIONS.get(current, frozenset())
