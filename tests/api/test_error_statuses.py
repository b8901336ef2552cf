"""The REST API maps each kind of refusal to Nautobot's HTTP status."""

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
from handlers.api import HTTP_STATUS, http_status
from handlers.api_parse import MalformedRequestError, PayloadTooLargeError


def test_every_kind_has_a_status() -> None:
    assert set(HTTP_STATUS) == set(ErrorKind)


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (DomainError("x"), 400),
        (FieldErrors({"reason": ["Too long."]}), 400),
        (InvalidScheduleError({"name": ["Please provide a name for the job schedule."]}), 400),
        (InvalidDataError({"var1": ["This field is required."]}), 400),
        (MalformedRequestError("JSON parse error - nested too deeply"), 400),
        (PayloadTooLargeError("Request body too large."), 413),
        (PermissionDeniedError("This user does not have permission to run jobs."), 403),
        (NotFoundError("Job not found."), 404),
        (JobDisabledError("This job is not enabled to be run."), 403),
        (NotRunnableError("This job is not presently installed and cannot be run"), 405),
        (PastDueError("The job's start time is in the past."), 400),
        (AlreadyDecidedError("This request was already approved."), 409),
        (InvalidStateError("This scheduled job is already paused."), 409),
    ],
)
def test_statuses_are_nautobots(error: DomainError, status: int) -> None:
    assert http_status(error) == status
