"""Domain errors: every refusal jobgate can give, as one small hierarchy.

Each error says what kind of refusal it is (:class:`ErrorKind`) and carries a message: a sentence safe to show to a
Slack user or an API client. Edges map the kind to a status (``handlers/api.py``) and a shape; they never invent
their own wording. Must not import Slack, SQLAlchemy or storage.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import StrEnum

__all__ = [
    "AlreadyDecidedError",
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
    """

    INVALID_INPUT = "invalid_input"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    JOB_DISABLED = "job_disabled"
    NOT_RUNNABLE = "not_runnable"
    NEEDS_CONFIRMATION = "needs_confirmation"
    CONFLICT = "conflict"


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
    """A ``future`` request is past its start time and the approval was not confirmed (``force``)."""

    kind = ErrorKind.NEEDS_CONFIRMATION


class AlreadyDecidedError(DomainError):
    """A decision was already made on this request; a second one changes nothing."""

    kind = ErrorKind.CONFLICT


class InvalidStateError(DomainError):
    """The request is in a state where this action makes no sense (cancelled, finished, not recurring...)."""

    kind = ErrorKind.CONFLICT

