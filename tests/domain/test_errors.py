"""Tests for bot.domain.errors: each refusal's kind."""

from __future__ import annotations

import pytest

from bot.domain.errors import (
    AlreadyDecidedError,
    DomainError,
    ErrorKind,
    FieldErrors,
    InvalidDataError,
    InvalidScheduleError,
    InvalidStateError,
    JobDisabledError,
    NotFoundError,
    NotRunnableError,
    PastDueError,
    PermissionDeniedError,
)


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (DomainError("Something is wrong with the request."), ErrorKind.INVALID_INPUT),
        (FieldErrors({"reason": ["Too long."]}), ErrorKind.INVALID_INPUT),
        (FieldErrors(["Both flags cannot be set."]), ErrorKind.INVALID_INPUT),
        (InvalidScheduleError({"name": ["Please provide a name for the job schedule."]}), ErrorKind.INVALID_INPUT),
        (InvalidDataError({"var1": ["This field is required."]}), ErrorKind.INVALID_INPUT),
        (PermissionDeniedError("You cannot approve your own job request!"), ErrorKind.FORBIDDEN),
        (NotFoundError("Job not found."), ErrorKind.NOT_FOUND),
        (JobDisabledError("This job is not enabled to be run."), ErrorKind.JOB_DISABLED),
        (NotRunnableError("This job is not presently installed and cannot be run"), ErrorKind.NOT_RUNNABLE),
        (PastDueError("The job's start time is in the past."), ErrorKind.NEEDS_CONFIRMATION),
        (AlreadyDecidedError("This request was already approved."), ErrorKind.CONFLICT),
        (InvalidStateError("This scheduled job is already paused."), ErrorKind.CONFLICT),
    ],
)
def test_each_error_has_its_kind(error: DomainError, kind: ErrorKind) -> None:
    assert error.kind is kind
    assert isinstance(error.message, str) and error.message
    assert not hasattr(error, "http_status")  # statuses are the REST API's business (handlers/api.py)


def test_a_disabled_job_is_a_kind_of_not_runnable() -> None:
    """A disabled job is caught like any other not-runnable job, but kept apart by its kind (Nautobot: 403, not 405)."""
    assert issubclass(JobDisabledError, NotRunnableError)
    assert JobDisabledError.kind is not NotRunnableError.kind


def test_kinds_are_documented_lower_case_strings() -> None:
    assert [kind.value for kind in ErrorKind] == [kind.name.lower() for kind in ErrorKind]
    for kind in ErrorKind:
        assert f"{kind.name}: ``{kind.value}``" in (ErrorKind.__doc__ or "")
