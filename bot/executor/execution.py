"""Executing one job in the current process: the function both executors call, and the soft time limit's signal.

``execute`` runs a job class for a run order and turns whatever happens (a return value, logged failures, an
exception, the soft time limit) into a ``RunReport``; it never raises for the job's sake. For a job with sensitive
variables an exception's message and traceback are never recorded, only its type: they can hold the values
(``int(data["pin"])`` puts the PIN in ``ValueError``'s message).

The soft time limit arrives as a signal (sent by the local executor's supervisor, or by Celery's pool); its handler
raises ``SoftTimeLimitExceeded`` only while a job's ``run()`` is on the stack, so a late signal can never interrupt
the recording of an outcome. Must not import Slack, SQLAlchemy, ``storage`` or ``handlers``: worker processes
import this module.
"""

from __future__ import annotations

import signal
import traceback
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from types import FrameType

from bot.domain.results import JobResultStatus
from bot.domain.variables import prepare_run_data
from bot.domain.versions import run_version_mismatch
from bot.executor.orders import RunOrder, RunReport
from bot.jobs import Job, LogEntry, LogLevel, SoftTimeLimitExceeded, job_info

SOFT_LIMIT_SIGNAL = signal.SIGUSR1
WORKER_NICE = 10
"""How much lower than the server's a worker process's CPU priority is."""

_in_job = False
_soft_limit_exception: type[SoftTimeLimitExceeded] = SoftTimeLimitExceeded


def _raise_soft_limit(_signum: int, _frame: FrameType | None) -> None:
    if _in_job:
        raise _soft_limit_exception()


def install_soft_limit_handler(
    signum: int = SOFT_LIMIT_SIGNAL, exception: type[SoftTimeLimitExceeded] = SoftTimeLimitExceeded
) -> None:
    """Make ``signum`` raise ``exception`` inside the job that is running, and do nothing when none is.

    Args:
        signum: the signal the soft time limit arrives as.
        exception: what to raise: ``SoftTimeLimitExceeded`` or a subclass (under Celery, one that is also
            Celery's own, so that both ``except`` clauses catch it).
    """
    global _soft_limit_exception
    _soft_limit_exception = exception
    signal.signal(signum, _raise_soft_limit)


def in_job() -> bool:
    """Whether a job's ``run()`` is on the stack in this process."""
    return _in_job


def soft_limit_reached() -> None:
    """The soft time limit of the run in progress is reached: raise it inside the job (nothing when none runs)."""
    _raise_soft_limit(0, None)


def _now() -> datetime:
    return datetime.now(UTC)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def execute(
    order: RunOrder, job_class: type[Job] | None, *, loaded_version: str = "", clock: Callable[[], datetime] = _now
) -> RunReport:
    """Run ``job_class`` for ``order`` in this process and report how it ended.

    A job that returns ends ``completed`` (``failed`` if it logged a failure); one that raises, or is stopped by
    its soft time limit, ends ``failed``; one that runs out of memory ends ``errored`` and asks for a fresh process.

    Args:
        order: what to run.
        job_class: the job's class as this process imported it, or None when it has no such job.
        loaded_version: the code version of the job's module as this process imported it; a run approved for
            another version is refused (``errored``, with ``refused_version`` set) and the job is not run.
        clock: where ``now`` comes from.
    """
    global _in_job
    started_at = clock()
    if job_class is None:
        message = f'Unable to locate job "{order.job_slug}" to run it!'
        return RunReport.errored(order.job_result_id, error=message, message=message, started_at=started_at)
    mismatch = run_version_mismatch(approved_version=order.approved_job_version, loaded_version=loaded_version)
    if mismatch is not None:
        assert order.approved_job_version is not None
        refused = RunReport.errored(order.job_result_id, error=mismatch, message=mismatch[0].upper() + mismatch[1:],
                                    started_at=started_at)
        return replace(refused, refused_version=(order.approved_job_version, loaded_version))
    job = job_class()
    job.user_id = order.user_id
    job.job_result_id = order.job_result_id
    returned: object = None
    error: str | None = None
    out_of_memory = False
    try:
        _in_job = True
        try:
            returned = job.run(prepare_run_data(job_info(job_class).variables, order.data or {}), order.commit)
        finally:
            _in_job = False
    except SoftTimeLimitExceeded:
        error = f"Soft time limit of {order.soft_time_limit or 0:g} s exceeded."
        job.log_failure(message=error)
    except MemoryError:
        out_of_memory = True
        error = "the job ran out of memory (MemoryError)"
        job.log_failure(message="The job ran out of memory (MemoryError); a fresh process takes the next job.")
    except Exception as exc:  # not SystemExit: a job that exits ends its process, and is reported as such
        name = type(exc).__name__
        if order.has_sensitive_variables:
            error = name
            job.log_failure(message=f"{name} (its message and traceback are not recorded: the job has sensitive "
                                    "variables)")
        else:
            error = _one_line(f"{name}: {exc}") if str(exc) else name
            job.log_failure(message=f"{name}: {exc}\n\n{traceback.format_exc()}")
    finished_at = clock()
    if out_of_memory:
        status = JobResultStatus.ERRORED
    elif job.failed:
        status = JobResultStatus.FAILED
        error = error or _first_failure(job.log_entries)
    else:
        status = JobResultStatus.COMPLETED
    return RunReport(
        job_result_id=order.job_result_id,
        status=status,
        log=tuple(job.log_entries),
        output=_as_text(returned),
        error=error,
        started_at=started_at,
        finished_at=finished_at,
        retire_process=out_of_memory,
    )


def _first_failure(entries: list[LogEntry]) -> str | None:
    for entry in entries:
        if entry.level is LogLevel.FAILURE:
            return _one_line(entry.message)[:500] or "the job logged a failure"
    return None


def _as_text(returned: object) -> str | None:
    if returned is None:
        return None
    try:
        return returned if isinstance(returned, str) else str(returned)
    except Exception:  # a return value whose __str__ fails is not worth failing the run for
        return f"<{type(returned).__name__} that cannot be shown as text>"
