"""Job result statuses and their allowed transitions.

The transitions are written once, here: storage makes every status change conditional on the statuses allowed to move
to the target (``sources_of``). Pure: must not import Slack, SQLAlchemy or storage.
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

UNFINISHED_STATUSES = frozenset(status for status in JobResultStatus if status not in FINAL_STATUSES)

ALLOWED_TRANSITIONS: dict[JobResultStatus, frozenset[JobResultStatus]] = {
    # Claimed by a runner; or errored before it ran (its process died while it waited, the lease ran out).
    JobResultStatus.PENDING: frozenset({JobResultStatus.RUNNING, JobResultStatus.ERRORED}),
    # Finished; or errored because its runner stopped (interrupted) or refused to run it; or given back unstarted
    # (claimed, then its server stopped before a worker took it: another runner may claim it).
    JobResultStatus.RUNNING: frozenset({JobResultStatus.COMPLETED, JobResultStatus.FAILED, JobResultStatus.ERRORED,
                                        JobResultStatus.PENDING}),
}
"""Which status a job result may move to from each unfinished one. A new result starts ``pending`` (or ``missed``,
which is final); final statuses never change."""


def can_transition(current: JobResultStatus, new: JobResultStatus) -> bool:
    """True when a job result may move from ``current`` to ``new``; final states never change."""
    return new in ALLOWED_TRANSITIONS.get(current, frozenset())


def sources_of(target: JobResultStatus) -> frozenset[JobResultStatus]:
    """The statuses from which a job result may move to ``target`` (empty for ``pending`` and ``missed``)."""
    return frozenset(current for current, targets in ALLOWED_TRANSITIONS.items() if target in targets)
