"""Domain errors: every refusal jobgate can give, as one small hierarchy.

Each error says what kind of refusal it is (:class:`ErrorKind`) and carries a message: a neutral sentence safe to
show to a Slack user or an API client, naming users by their Slack user ID. Errors whose wording depends on the edge
(a Slack mention, a hint naming the REST ``force`` parameter or Slack's confirmation) also carry the facts, so that
each edge can word its own answer. Edges map the kind to a status (``handlers/api_errors.py``) and a shape. Must not
import Slack, SQLAlchemy or storage.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from enum import StrEnum

__all__ = [
    "AlreadyDecidedError",
    "DatabaseUnavailableError",
    "DomainError",
    "ErrorKind",
    "FieldErrors",
    "InvalidDataError",
    "InvalidScheduleError",
    "InvalidStateError",
    "JobDisabledError",
    "NotFoundError",
    "NotRunnableError",
    "PastDueError",
    "PermissionDeniedError",
    "TooManyPendingError",
]


class ErrorKind(StrEnum):
    """What kind of refusal an error is; each edge decides how to answer it (the REST API: an HTTP status).

    INVALID_INPUT: ``invalid_input``, the request itself is wrong (a field, the job data, the schedule); asking again
        with other input may succeed.
    FORBIDDEN: ``forbidden``, the actor lacks a permission, or may never do this (approve their own request).
    NOT_FOUND: ``not_found``, the object does not exist, or the actor may not see it.
    JOB_DISABLED: ``job_disabled``, the job is not enabled to be run (Nautobot answers this one like a missing
        permission).
    NOT_RUNNABLE: ``not_runnable``, the job cannot run for another reason (not installed, its code is missing, it is
        both sensitive and approval-required, or it was deleted).
    NEEDS_CONFIRMATION: ``needs_confirmation``, the action would surprise (approving a request past its start time)
        and was not confirmed.
    CONFLICT: ``conflict``, the object is in a state where this makes no sense any more (already decided, cancelled,
        finished, already paused).
    UNAVAILABLE: ``unavailable``, jobgate cannot reach its database now; the same request may succeed shortly.
    LIMIT_REACHED: ``limit_reached``, the actor has reached a limit (pending requests per person); asking again
        once some are decided or withdrawn may succeed.
    """

    INVALID_INPUT = "invalid_input"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    JOB_DISABLED = "job_disabled"
    NOT_RUNNABLE = "not_runnable"
    NEEDS_CONFIRMATION = "needs_confirmation"
    CONFLICT = "conflict"
    UNAVAILABLE = "unavailable"
    LIMIT_REACHED = "limit_reached"


class DomainError(Exception):
    """Base class: a refusal with a message meant for the person who asked.

    Attributes:
        kind: what kind of refusal it is (a class attribute; :attr:`ErrorKind.INVALID_INPUT` unless a subclass says).
        message: the neutral sentence.
    """

    kind: ErrorKind = ErrorKind.INVALID_INPUT

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


class FieldErrors(DomainError):
    """Invalid input reported per field: ``{"field": ["message", ...]}`` (or a bare list for whole-input errors)."""

    kind = ErrorKind.INVALID_INPUT

    def __init__(self, errors: Mapping[str, Sequence[str]] | Sequence[str], *, message: str | None = None) -> None:
        if isinstance(errors, Mapping):
            self.errors: dict[str, list[str]] | list[str] = {k: list(v) for k, v in errors.items()}
            first = "; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items())
        else:
            self.errors = list(errors)
            first = " ".join(self.errors)
        super().__init__(message or first)


class InvalidScheduleError(FieldErrors):
    """The schedule part of a request is invalid (field names: interval, name, start_time, crontab, time_zone)."""


class InvalidDataError(FieldErrors):
    """The job data (variable values) is invalid, per variable name."""


class PermissionDeniedError(DomainError):
    """The actor lacks a permission, or may never do this (own request)."""

    kind = ErrorKind.FORBIDDEN


class OwnRequestError(PermissionDeniedError):
    """The actor asked for this run themselves, and nobody approves their own request: someone else must.

    Attributes:
        approver_ids: Slack user IDs of who may approve it (never the requester).
        approver_groups: user groups whose members may approve it: handles (without ``@``) or pinned IDs (``S…``).
    """

    def __init__(self, message: str, *, approver_ids: Sequence[str] = (), approver_groups: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.approver_ids = tuple(approver_ids)
        self.approver_groups = tuple(approver_groups)


class NotFoundError(DomainError):
    """The object does not exist, or the actor may not see it."""

    kind = ErrorKind.NOT_FOUND


class NotRunnableError(DomainError):
    """The job cannot run at this time (disabled, not installed, sensitive and approval-required, code missing)."""

    kind = ErrorKind.NOT_RUNNABLE


class JobDisabledError(NotRunnableError):
    """The job is not enabled to be run (Nautobot answers 403 here, not 405 as for the other reasons)."""

    kind = ErrorKind.JOB_DISABLED


class PastDueError(DomainError):
    """A ``future`` request is past its start time and the approval was not confirmed.

    The message only states the fact; each edge adds how to confirm (Slack: the confirmation dialog or
    ``/jobs approve ID --force``; the REST API: the ``force`` query parameter).

    Attributes:
        scheduled_job_id: the request.
        start_time: its start time, now past (aware UTC).
    """

    kind = ErrorKind.NEEDS_CONFIRMATION

    def __init__(self, message: str, *, scheduled_job_id: str, start_time: datetime) -> None:
        super().__init__(message)
        self.scheduled_job_id = scheduled_job_id
        self.start_time = start_time


class AlreadyDecidedError(DomainError):
    """A decision was already made on this request; a second one changes nothing.

    The message names the decider by Slack user ID (``"... approved by U0123ABCD at 2030-01-01 09:00 UTC."``), as
    the REST API shows it; :meth:`describe` words it with another way of naming a user (Slack: a mention).

    Attributes:
        approval_state: the request's approval state, an ``ApprovalState`` value (``approved``, ``denied`` or
            ``not_required``; ``pending`` reads "not decided yet"). Kept as its string value, since ``approvals.py``
            (which defines the states) imports this module.
        decided_by_id: Slack user ID of who decided, if known.
        decided_at: when it was decided, if known.
    """

    kind = ErrorKind.CONFLICT

    def __init__(self, *, approval_state: str, decided_by_id: str | None = None,
                 decided_at: datetime | None = None) -> None:
        self.approval_state = str(approval_state)
        self.decided_by_id = decided_by_id
        self.decided_at = decided_at
        super().__init__(self.describe())

    def describe(self, user: Callable[[str], str] = str) -> str:
        """The sentence refusing a second decision: who decided, and when.

        Args:
            user: how to name the decider, given their Slack user ID (default: the ID itself).

        Returns:
            e.g. ``"This request was already approved by U0123ABCD at 2030-01-01 09:00 UTC."``
        """
        if self.approval_state == "not_required":
            return "This request does not need approval."
        if self.approval_state == "pending":
            return "This request has not been decided yet."
        if self.approval_state == "expired":
            return "This request has expired: nobody decided on it in time, and it will not run."
        sentence = f"This request was already {self.approval_state}"
        if self.decided_by_id:
            sentence += f" by {user(self.decided_by_id)}"
        if self.decided_at is not None:
            sentence += f" at {_format_utc(self.decided_at)}"
        return sentence + "."


class TooManyPendingError(DomainError):
    """The requester already has as many requests waiting for approval as one person may have."""

    kind = ErrorKind.LIMIT_REACHED


class InvalidStateError(DomainError):
    """The request is in a state where this action makes no sense (cancelled, finished, not recurring...)."""

    kind = ErrorKind.CONFLICT


DATABASE_UNAVAILABLE_MESSAGE = "jobgate cannot reach its database; try again shortly."


class DatabaseUnavailableError(DomainError):
    """The database cannot be reached now (down, unreachable, or locked past the busy timeout); nothing was done.

    Raised by storage in place of the driver's error. The message is for the user; ``cause`` (the driver's first line,
    with host names and SQL) is for the log and the operator only.

    Attributes:
        cause: what the driver said.
    """

    kind = ErrorKind.UNAVAILABLE

    def __init__(self, cause: str) -> None:
        super().__init__(DATABASE_UNAVAILABLE_MESSAGE)
        self.cause = cause


def _format_utc(instant: datetime) -> str:
    """``2030-01-01 09:00 UTC`` (a naive datetime is taken to be UTC already)."""
    aware = instant.replace(tzinfo=UTC) if instant.tzinfo is None else instant.astimezone(UTC)
    return aware.strftime("%Y-%m-%d %H:%M UTC")
