"""What the executors pass around: a run order (what to run, as whom, within which limits) and its run report.

Both are plain, picklable values: a run order travels to a worker process over a pipe (local executor) and a run
report comes back the same way. Also the wording of the reasons a run ends ``errored`` because of the process
running it (time limit, exit code, signal, shutdown), shared by both executors. Must not import Slack, SQLAlchemy,
``storage`` or ``handlers``: worker processes import this module.
"""

from __future__ import annotations

import signal
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.domain.results import JobResultStatus
from bot.jobs import LogEntry, LogLevel

SHUTDOWN_INTERRUPTED = "interrupted: the server stopped before the job finished"
SHUTDOWN_INTERRUPTED_MESSAGE = "Interrupted: the server stopped before the job finished."


@dataclass(frozen=True, kw_only=True)
class RunOrder:
    """One job result to execute, with everything the process running it needs (no database access).

    Attributes:
        job_result_id: the job result being produced.
        job_slug: the job's slug (``module.ClassName``), looked up in the worker's own discovery.
        job_name: the job's name, for messages.
        data: the job's data (for a job with sensitive variables, the values held in memory only).
        commit: False for a dry run.
        user_id: the Slack user the job runs as, or None.
        has_sensitive_variables: the job's data must never be stored or logged (nor an exception's message).
        soft_time_limit: seconds after which ``SoftTimeLimitExceeded`` is raised inside the job, or None.
        time_limit: seconds after which the process running the job is ended.
        approved_job_version: the job's code version the run was approved for (None: not pinned); a worker whose
            code has another version refuses to run it.
        scheduled_job_id: the scheduled job the run comes from, if any (for log lines).
    """

    job_result_id: str
    job_slug: str
    job_name: str
    data: dict[str, Any] | None = field(repr=False)
    commit: bool
    user_id: str | None
    has_sensitive_variables: bool
    soft_time_limit: float | None
    time_limit: float
    approved_job_version: str | None = None
    scheduled_job_id: str | None = None


def effective_time_limits(
    *, soft_time_limit: float | None, time_limit: float | None, default: timedelta
) -> tuple[float | None, float]:
    """The limits a run gets: the job's ``Meta`` values, else ``JOBGATE_DEFAULT_TIME_LIMIT`` for the hard one.

    A soft limit at or past the hard one would never be seen by the job, so it is dropped.

    Returns:
        ``(soft, hard)`` in seconds.
    """
    hard = time_limit if time_limit is not None else default.total_seconds()
    soft = soft_time_limit if soft_time_limit is not None and soft_time_limit < hard else None
    return soft, hard


@dataclass(frozen=True, kw_only=True)
class RunReport:
    """How one run ended.

    Attributes:
        job_result_id: the job result.
        status: ``completed``, ``failed`` or ``errored``.
        log: the job's log entries, then any entry saying why the run ended as it did.
        output: what ``run()`` returned, as text (None when it returned None or did not return).
        error: one line saying why the run failed or errored, or None.
        started_at: when the job started (aware UTC).
        finished_at: when it ended (aware UTC).
        retire_process: the process that ran it must not run another job (it ran out of memory).
        refused_version: set when the worker refused to run it because the code it loaded is not the approved
            version: ``(approved version, loaded version)``; the request goes back for approval.
    """

    job_result_id: str
    status: JobResultStatus
    log: tuple[LogEntry, ...]
    output: str | None
    error: str | None
    started_at: datetime
    finished_at: datetime
    retire_process: bool = False
    refused_version: tuple[str, str] | None = None

    @classmethod
    def errored(
        cls, job_result_id: str, *, error: str, message: str, started_at: datetime, finished_at: datetime | None = None
    ) -> RunReport:
        """A run that the process running it could not finish: ``error`` on the result, ``message`` in its log."""
        finished_at = finished_at or datetime.now(UTC)
        entry = LogEntry(level=LogLevel.FAILURE, message=message, obj=None, logged_at=finished_at)
        return cls(job_result_id=job_result_id, status=JobResultStatus.ERRORED, log=(entry,), output=None,
                   error=error, started_at=started_at, finished_at=finished_at)


def describe_exit(exitcode: int) -> str:
    """How a process ended, in words: ``exit code 3`` or ``signal 9 (SIGKILL)`` (a negative code is a signal)."""
    if exitcode >= 0:
        return f"exit code {exitcode}"
    try:
        name = signal.Signals(-exitcode).name
    except ValueError:
        return f"signal {-exitcode}"
    return f"signal {-exitcode} ({name})"


def process_exited(job_result_id: str, exitcode: int, *, started_at: datetime) -> RunReport:
    """The report of a run whose process died under it (killed, ``os._exit``, a crash, out of memory).

    Args:
        job_result_id: the job result.
        exitcode: how the process ended: its exit code, or minus the signal that ended it.
        started_at: when the run started.
    """
    how = f"{'on' if exitcode < 0 else 'with'} {describe_exit(exitcode)}"
    return RunReport.errored(
        job_result_id,
        error=f"the process running it exited {how}",
        message=f"The process running the job exited {how} before the job finished; a fresh process took its "
        "place. The job was not retried.",
        started_at=started_at,
    )


def time_limit_exceeded(job_result_id: str, time_limit: float, *, started_at: datetime) -> RunReport:
    """The report of a run ended at its hard time limit."""
    return RunReport.errored(
        job_result_id,
        error=f"time limit of {time_limit:g} s exceeded: the process running it was ended",
        message=f"Time limit of {time_limit:g} s exceeded: the process running the job was ended and a fresh one "
        "took its place.",
        started_at=started_at,
    )


def interrupted_by_shutdown(job_result_id: str, *, started_at: datetime) -> RunReport:
    """The report of a run still going when the server stopped and its grace period ran out."""
    return RunReport.errored(job_result_id, error=SHUTDOWN_INTERRUPTED, message=SHUTDOWN_INTERRUPTED_MESSAGE,
                             started_at=started_at)
