"""REST API rendering: the ``build_*`` functions that turn the services' records into the models of
``handlers/api_models.py`` (URLs, nested objects, users as ``{"id", "name"}``, pagination links).

Pure rendering: no service calls, no I/O. Must not import sqlalchemy or storage.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from bot.domain.approvals import ApprovalState
from bot.domain.records import JobRecord, JobResultRecord, LogRecord, Page, ScheduledJobRecord
from bot.domain.schedules import describe
from bot.domain.variables import summarise_data
from handlers.api_models import (
    ApprovalOut,
    BriefJobResultListOut,
    BriefJobResultOut,
    BriefScheduledJobListOut,
    BriefScheduledJobOut,
    JobListOut,
    JobOut,
    JobResultListOut,
    JobResultOut,
    JobResultSummaryOut,
    LogEntryOut,
    NestedJobOut,
    NestedScheduledJobOut,
    RunResultOut,
    ScheduledJobListOut,
    ScheduledJobOut,
    StatusOut,
    UserOut,
)

__all__ = [
    "build_brief_job_result",
    "build_brief_scheduled_job",
    "build_job",
    "build_job_list",
    "build_job_result",
    "build_job_result_list",
    "build_job_result_summary",
    "build_page_links",
    "build_run_result",
    "build_scheduled_job",
    "build_scheduled_job_list",
]


def _user(user_id: str | None) -> UserOut | None:
    return UserOut(id=user_id, name=user_id) if user_id else None


def _job_url(api_root: str, job_id: str) -> str:
    return f"{api_root}extras/jobs/{job_id}/"


def _scheduled_job_url(api_root: str, scheduled_job_id: str) -> str:
    return f"{api_root}extras/scheduled-jobs/{scheduled_job_id}/"


def build_nested_job(job: JobRecord | None, *, api_root: str) -> NestedJobOut | None:
    """A job in brief, or None when it was deleted."""
    if job is None:
        return None
    return NestedJobOut(id=job.id, url=_job_url(api_root, job.id), slug=job.slug, name=job.name, display=job.name)


def build_job(job: JobRecord, *, api_root: str) -> JobOut:
    """The API form of a job.

    Args:
        job: the job record.
        api_root: absolute URL of ``/api/``, ending with a slash.
    """
    return JobOut(
        id=job.id,
        url=_job_url(api_root, job.id),
        display=job.name,
        slug=job.slug,
        name=job.name,
        description=job.description,
        grouping=job.group,
        module_name=job.module_name,
        job_class_name=job.class_name,
        enabled=job.enabled,
        installed=job.installed,
        approval_required=job.approval_required,
        has_sensitive_variables=job.has_sensitive_variables,
        hidden=job.hidden,
        soft_time_limit=job.soft_time_limit,
        time_limit=job.time_limit,
        variables=job.variables,
    )


def build_scheduled_job(record: ScheduledJobRecord, *, api_root: str) -> ScheduledJobOut:
    """The API form of a scheduled job.

    Args:
        record: the scheduled job record.
        api_root: absolute URL of ``/api/``, ending with a slash.
    """
    approved = record.approval_state is ApprovalState.APPROVED
    return ScheduledJobOut(
        id=record.id,
        url=_scheduled_job_url(api_root, record.id),
        display=record.name,
        name=record.name,
        description=_describe(record),
        job_model=build_nested_job(record.job, api_root=api_root),
        user=_user(record.user_id),
        interval=record.interval,
        start_time=record.start_time,
        crontab=record.crontab,
        time_zone=record.time_zone,
        data=summarise_data(record.data),
        commit=record.commit,
        approval_required=record.approval_required,
        approval_state=record.approval_state,
        min_approvers=record.min_approvers,
        approvals=[ApprovalOut(user=UserOut(id=v.user_id, name=v.user_id), at=v.at, comment=v.comment,
                               job_version=v.job_version)
                   for v in record.approvals],
        expires_at=record.expires_at,
        approved_by_user=_user(record.decided_by_id) if approved else None,
        approved_at=record.decided_at if approved else None,
        decided_by_user=_user(record.decided_by_id),
        decided_at=record.decided_at,
        decision_reason=record.decision_reason,
        reason=record.reason,
        job_version=record.job_version,
        approved_job_version=record.approved_job_version,
        enabled=record.enabled,
        paused=record.paused,
        end_reason=record.end_reason,
        ended_at=record.ended_at,
        next_run_at=record.next_run_at,
        last_run_at=record.last_run_at,
        total_run_count=record.total_run_count,
        created=record.created_at,
    )


def build_brief_scheduled_job(record: ScheduledJobRecord, *, api_root: str) -> BriefScheduledJobOut:
    """The brief API form of a scheduled job (``?brief=true``)."""
    return BriefScheduledJobOut(
        id=record.id,
        url=_scheduled_job_url(api_root, record.id),
        display=record.name,
        name=record.name,
        start_time=record.start_time,
        interval=record.interval,
        crontab=record.crontab,
    )


def _describe(record: ScheduledJobRecord) -> str:
    """The schedule in words."""
    return describe(record.schedule)


def _log_entry(entry: LogRecord) -> LogEntryOut:
    return LogEntryOut(created=entry.logged_at, log_level=entry.level, log_object=entry.obj, message=entry.message)


def build_job_result(result: JobResultRecord, *, api_root: str) -> JobResultOut:
    """The API form of a job result, with its log.

    Args:
        result: the job result record, read with its log.
        api_root: absolute URL of ``/api/``, ending with a slash.
    """
    summary = build_job_result_summary(result, api_root=api_root)
    return JobResultOut(**dict(summary), log=[_log_entry(entry) for entry in result.log])


def build_job_result_summary(result: JobResultRecord, *, api_root: str) -> JobResultSummaryOut:
    """A job result as lists show it: every field but the log lines, with how many there are."""
    scheduled = None
    if result.scheduled_job_id is not None:
        scheduled = NestedScheduledJobOut(
            id=result.scheduled_job_id, url=_scheduled_job_url(api_root, result.scheduled_job_id)
        )
    return JobResultSummaryOut(
        id=result.id,
        url=_job_result_url(api_root, result.id),
        display=_display_job_result(result),
        name=result.name,
        job_model=build_nested_job(result.job, api_root=api_root),
        user=_user(result.user_id),
        approved_by_user=_user(result.approved_by_id),
        status=StatusOut(value=result.status, label=result.status.label),
        dry_run=result.dry_run,
        created=result.created_at,
        started=result.started_at,
        completed=result.completed_at,
        scheduled_job=scheduled,
        scheduled_for=result.scheduled_for,
        error=result.error,
        output=result.output,
        log_count=result.log_count,
    )


def build_brief_job_result(result: JobResultRecord, *, api_root: str) -> BriefJobResultOut:
    """The brief API form of a job result (``?brief=true``)."""
    return BriefJobResultOut(
        id=result.id, url=_job_result_url(api_root, result.id), display=_display_job_result(result),
        name=result.name, created=result.created_at, completed=result.completed_at, user=_user(result.user_id),
        status=StatusOut(value=result.status, label=result.status.label),
    )


def _job_result_url(api_root: str, job_result_id: str) -> str:
    return f"{api_root}extras/job-results/{job_result_id}/"


def _display_job_result(result: JobResultRecord) -> str:
    return f"{result.name} started at {result.created_at.isoformat()} ({result.status.label})"


def build_run_result(
    *, scheduled_job: ScheduledJobRecord | None, job_result: JobResultRecord | None, api_root: str
) -> RunResultOut:
    """The answer to ``run``: the scheduled job it created, or the job result."""
    return RunResultOut(
        schedule=build_scheduled_job(scheduled_job, api_root=api_root) if scheduled_job else None,
        job_result=build_job_result(job_result, api_root=api_root) if job_result else None,
    )


def build_page_links(*, url: str, count: int, limit: int, offset: int) -> tuple[str | None, str | None]:
    """The absolute ``next`` and ``previous`` URLs of a page, as Django REST framework's LimitOffsetPagination.

    Args:
        url: the absolute URL of this request (its query is kept; ``limit`` and ``offset`` are replaced).
        count: how many items there are in all.
        limit: the page size.
        offset: where this page starts.

    Returns:
        ``(next, previous)``, each None at the end of the listing.
    """
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in ("limit", "offset")]

    def with_query(extra: list[tuple[str, str]]) -> str:
        return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query + extra), ""))

    following = None
    if offset + limit < count:
        following = with_query([("limit", str(limit)), ("offset", str(offset + limit))])
    previous = None
    if offset > 0:
        back = offset - limit
        previous = with_query([("limit", str(limit)), *([("offset", str(back))] if back > 0 else [])])
    return following, previous


def build_job_list(jobs: Sequence[JobRecord], *, url: str, limit: int, offset: int, api_root: str) -> JobListOut:
    """One page of the jobs the caller may see (the whole list is short, so it is cut here)."""
    following, previous = build_page_links(url=url, count=len(jobs), limit=limit, offset=offset)
    results = [build_job(job, api_root=api_root) for job in jobs[offset : offset + limit]]
    return JobListOut(count=len(jobs), next=following, previous=previous, results=results)


def build_scheduled_job_list(
    page: Page[ScheduledJobRecord], *, url: str, limit: int, offset: int, api_root: str, brief: bool = False
) -> ScheduledJobListOut | BriefScheduledJobListOut:
    """One page of scheduled jobs, in full or in brief."""
    following, previous = build_page_links(url=url, count=page.count, limit=limit, offset=offset)
    if brief:
        briefs = [build_brief_scheduled_job(record, api_root=api_root) for record in page.items]
        return BriefScheduledJobListOut(count=page.count, next=following, previous=previous, results=briefs)
    results = [build_scheduled_job(record, api_root=api_root) for record in page.items]
    return ScheduledJobListOut(count=page.count, next=following, previous=previous, results=results)


def build_job_result_list(
    page: Page[JobResultRecord], *, url: str, limit: int, offset: int, api_root: str, brief: bool = False
) -> JobResultListOut | BriefJobResultListOut:
    """One page of job results, without their log lines (in full otherwise, or in brief)."""
    following, previous = build_page_links(url=url, count=page.count, limit=limit, offset=offset)
    if brief:
        briefs = [build_brief_job_result(result, api_root=api_root) for result in page.items]
        return BriefJobResultListOut(count=page.count, next=following, previous=previous, results=briefs)
    results = [build_job_result_summary(result, api_root=api_root) for result in page.items]
    return JobResultListOut(count=page.count, next=following, previous=previous, results=results)
