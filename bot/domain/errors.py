"""Domain errors: every refusal jobgate can give, as one small hierarchy.

Each error's message is a sentence safe to show to a Slack user or an API client. Edges map the class to a status
(``http_status``) and a shape; they never invent their own wording. Must not import Slack, SQLAlchemy or storage.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence


class DomainError(Exception):
    """Base class: a refusal with a message meant for the person who asked."""

    http_status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


class FieldErrors(DomainError):
    """Invalid input reported per field: ``{"field": ["message", ...]}`` (or a bare list for whole-input errors)."""

    http_status = 400

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

    http_status = 403


class NotFoundError(DomainError):
    """The object does not exist, or the actor may not see it."""

    http_status = 404


class NotRunnableError(DomainError):
    """The job cannot run at this time (disabled, not installed, sensitive and approval-required, code missing)."""

    http_status = 405


class JobDisabledError(NotRunnableError):
    """The job is not enabled to be run (Nautobot answers 403 here)."""

    http_status = 403


class PastDueError(DomainError):
    """A ``future`` request is past its start time and the approval was not confirmed (``force``)."""

    http_status = 400


class AlreadyDecidedError(DomainError):
    """A decision was already made on this request; a second one changes nothing."""

    http_status = 409


class InvalidStateError(DomainError):
    """The request is in a state where this action makes no sense (cancelled, finished, not recurring...)."""

    http_status = 409
