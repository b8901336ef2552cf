"""How a finished run is told to the person it ran for: which run it was (its scheduled job's name, the value of the
job's key variable, its due time), the one line that says why it did not complete, and whether it is told in the
thread of its scheduled job's earlier runs or as a message of its own.

Pure: the standard library and the other domain modules. Must not import Slack, SQLAlchemy, ``storage`` or
``handlers``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot.domain.records import JobRecord, LogRecord
from bot.domain.results import JobResultStatus
from bot.domain.variables import keys

NEEDS_ATTENTION = frozenset({JobResultStatus.FAILED, JobResultStatus.ERRORED, JobResultStatus.MISSED})
"""Outcomes told as a message of their own, never only inside a thread: somebody should look at them."""

KEY_VALUE_LENGTH = 60
"""The most characters of a key variable's value shown in a run's name."""


def key_variable(job: JobRecord | None, data: Mapping[str, Any] | None) -> tuple[str, str] | None:
    """The key variable of a job and its value in a request's data: ``(label, value)``, or None.

    The key variable is the one rule of ``bot.domain.variables.keys`` (``Meta.key_variable``, else the first text
    variable that always has a value). A job with sensitive variables never has one shown (its data is never stored
    anyway), nor does a value that is empty, a list or a yes/no; a long value is shortened.

    Args:
        job: the job (None when it was deleted).
        data: the values the request or run carries.
    """
    if job is None or job.has_sensitive_variables:
        return None
    name = keys.key_variable(job.variables)
    value = keys.key_value(job.variables, data)
    if name is None or value is None:
        return None
    text = " ".join(value.split())
    if len(text) > KEY_VALUE_LENGTH:
        text = text[: KEY_VALUE_LENGTH - 1] + "…"
    return str(job.variables[name].get("label") or name), text


def last_error_line(*, error: str | None, log: Sequence[LogRecord]) -> str | None:
    """The line that says why a run did not complete: the last line of its error, else its last ``failure`` log
    line, else None."""
    if error and error.strip():
        return [line for line in error.splitlines() if line.strip()][-1].strip()
    for entry in reversed(log):
        if entry.level == "failure" and entry.message.strip():
            return [line for line in entry.message.splitlines() if line.strip()][-1].strip()
    return None


def told_in_thread(*, status: JobResultStatus, dry_run: bool, scheduled_job_id: str | None,
                   has_thread: bool) -> bool:
    """Whether a finished run is told as a reply in its scheduled job's thread rather than as a new message.

    A scheduled job's first run starts the thread (a new message); later runs that completed are replies in it, so
    fifteen daily backups are one conversation, not fifteen messages. A run that failed, errored or was missed is
    always a new message. Dry runs and runs asked for once are told as they always were.
    """
    return (scheduled_job_id is not None and not dry_run and has_thread
            and status not in NEEDS_ATTENTION)
