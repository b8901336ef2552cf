"""The server log's account of what people did: one INFO line per request, approval and denial, once committed.

Each line names the job result or scheduled job, the job and the user, in its text and as fields
(``job_result_id`` / ``scheduled_job_id``, ``job``, ``user_id``: JSON fields with ``JOBGATE_LOG_FORMAT=json``). Runs
starting and ending are logged by the executors. Nothing of a request's data is logged. Must not import Slack or
handlers.
"""

from __future__ import annotations

import logging

from bot.domain.approvals import ApprovalState
from bot.domain.permissions import Actor
from bot.domain.records import JobRecord, JobResultRecord, ScheduledJobRecord
from bot.logs import about

log = logging.getLogger("jobgate.activity")


def _slug(job: JobRecord | None, fallback: str) -> str:
    return job.slug if job is not None else fallback


def requested_run(result: JobResultRecord) -> None:
    """A run asked for now (or a dry run of a pending request) was created."""
    job = _slug(result.job, result.name)
    kind = "dry run" if result.dry_run else "run"
    log.info("job result %s of %s requested by %s (%s now)", result.id, job, result.user_id, kind,
             extra=about(job_result_id=result.id, scheduled_job_id=result.scheduled_job_id, job=job,
                         user_id=result.user_id))


def requested_schedule(record: ScheduledJobRecord) -> None:
    """A scheduled job was created: awaiting approval, or active at once."""
    job = _slug(record.job, record.name)
    state = ("awaiting approval" if record.approval_state is ApprovalState.PENDING
             else "no approval needed")
    log.info("scheduled job %s of %s requested by %s (%s, %s)", record.id, job, record.user_id,
             record.interval.value, state,
             extra=about(scheduled_job_id=record.id, job=job, user_id=record.user_id))


def approved(record: ScheduledJobRecord, actor: Actor) -> None:
    """An approval was recorded: the request is approved, or waits for more approvers."""
    job = _slug(record.job, record.name)
    fields = about(scheduled_job_id=record.id, job=job, user_id=actor.user_id)
    if record.approval_state is ApprovalState.PENDING:
        log.info("scheduled job %s of %s: approval by %s (%d of %d); still pending", record.id, job, actor.user_id,
                 len(record.approvals), record.min_approvers, extra=fields)
    else:
        log.info("scheduled job %s of %s approved by %s (requested by %s)", record.id, job, actor.user_id,
                 record.user_id, extra=fields)


def denied(record: ScheduledJobRecord, actor: Actor) -> None:
    """A request was denied, or withdrawn by its requester."""
    job = _slug(record.job, record.name)
    verb = "withdrawn" if actor.user_id == record.user_id else "denied"
    log.info("scheduled job %s of %s %s by %s (requested by %s)", record.id, job, verb, actor.user_id,
             record.user_id, extra=about(scheduled_job_id=record.id, job=job, user_id=actor.user_id))
