"""Tests for bot.domain.errors: each refusal's kind, and the facts edges word their own answers from."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

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

AT = datetime(2030, 1, 15, 12, 0, tzinfo=UTC)


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
        (PastDueError("The job's start time is in the past.", scheduled_job_id="sj-1", start_time=AT),
         ErrorKind.NEEDS_CONFIRMATION),
        (AlreadyDecidedError(approval_state="approved", decided_by_id="U0APPROVE1", decided_at=AT),
         ErrorKind.CONFLICT),
        (InvalidStateError("This scheduled job is already paused."), ErrorKind.CONFLICT),
    ],
)
def test_each_error_has_its_kind(error: DomainError, kind: ErrorKind) -> None:
    assert error.kind is kind
    assert isinstance(error.message, str) and error.message
    assert not hasattr(error, "http_status")  # statuses are the REST API's business (handlers/api_errors.py)


def test_a_disabled_job_is_a_kind_of_not_runnable() -> None:
    """A disabled job is caught like any other not-runnable job, but kept apart by its kind (Nautobot: 403, not 405)."""
    assert issubclass(JobDisabledError, NotRunnableError)
    assert JobDisabledError.kind is not NotRunnableError.kind


def test_kinds_are_documented_lower_case_strings() -> None:
    assert [kind.value for kind in ErrorKind] == [kind.name.lower() for kind in ErrorKind]
    for kind in ErrorKind:
        assert f"{kind.name}: ``{kind.value}``" in (ErrorKind.__doc__ or "")


def test_past_due_carries_the_request_and_a_neutral_sentence() -> None:
    error = PastDueError("The job's start time is in the past.", scheduled_job_id="sj-1", start_time=AT)
    assert (error.scheduled_job_id, error.start_time) == ("sj-1", AT)
    assert "force" not in error.message


@pytest.mark.parametrize(
    ("state", "decided_by_id", "decided_at", "plain", "mentioned"),
    [
        ("approved", "U0APPROVE1", AT,
         "This request was already approved by U0APPROVE1 at 2030-01-15 12:00 UTC.",
         "This request was already approved by <@U0APPROVE1> at 2030-01-15 12:00 UTC."),
        ("denied", "U0APPROVE1", datetime(2030, 1, 15, 13, 0, tzinfo=timezone(timedelta(hours=1))),
         "This request was already denied by U0APPROVE1 at 2030-01-15 12:00 UTC.",
         "This request was already denied by <@U0APPROVE1> at 2030-01-15 12:00 UTC."),
        ("approved", None, None, "This request was already approved.", "This request was already approved."),
        ("not_required", "U0APPROVE1", AT, "This request does not need approval.",
         "This request does not need approval."),
        ("pending", None, None, "This request has not been decided yet.", "This request has not been decided yet."),
    ],
)
def test_already_decided_keeps_the_facts_and_each_edge_names_the_user(
    state: str, decided_by_id: str | None, decided_at: datetime | None, plain: str, mentioned: str
) -> None:
    error = AlreadyDecidedError(approval_state=state, decided_by_id=decided_by_id, decided_at=decided_at)
    assert (error.approval_state, error.decided_by_id, error.decided_at) == (state, decided_by_id, decided_at)
    assert error.message == error.describe() == plain
    assert error.describe(user=lambda user_id: f"<@{user_id}>") == mentioned
