"""The REST API maps each kind of refusal to Nautobot's HTTP status, and words the refusals that depend on the edge."""

from __future__ import annotations

from datetime import UTC, datetime

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
from handlers.api_errors import HTTP_STATUS, PAST_DUE_DETAIL, error_body, http_status
from handlers.api_parse import MalformedRequestError, PayloadTooLargeError

AT = datetime(2030, 1, 15, 12, 0, tzinfo=UTC)


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
        (PastDueError("The job's start time is in the past.", scheduled_job_id="sj-1", start_time=AT), 400),
        (AlreadyDecidedError(approval_state="approved", decided_by_id="U0APPROVE1", decided_at=AT), 409),
        (InvalidStateError("This scheduled job is already paused."), 409),
    ],
)
def test_statuses_are_nautobots(error: DomainError, status: int) -> None:
    assert http_status(error) == status


def test_past_due_keeps_nautobots_exact_text() -> None:
    error = PastDueError("The job's start time is in the past.", scheduled_job_id="sj-1", start_time=AT)
    assert error_body(error) == {"detail": PAST_DUE_DETAIL}
    assert PAST_DUE_DETAIL == (
        "The job's start time is in the past. If you want to force a run anyway, add the `force` query parameter."
    )


def test_already_decided_names_the_user_by_id() -> None:
    error = AlreadyDecidedError(approval_state="approved", decided_by_id="U0APPROVE1", decided_at=AT)
    assert error_body(error) == {"detail": "This request was already approved by U0APPROVE1 at 2030-01-15 12:00 UTC."}
