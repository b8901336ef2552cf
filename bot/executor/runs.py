"""The database side of running jobs, shared by both executors: from a claimed job result to a run order, and from
run reports to recorded outcomes; leases, the reaper and the words for interrupted runs.

A run is claimed by compare-and-set (pending → running, runner id, lease), kept alive by heartbeats, and its outcome
is recorded only while its runner still holds it, so a process presumed dead never overwrites what the reaper wrote.
Outcomes are written in batches: each outcome, its log and the requester's notification (an outbox row) in one
transaction. Must not import Slack or handlers.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.domain import requests
from bot.domain.outbox import OutboxKind, OutboxMessage
from bot.domain.records import FinishedRun, LogRecord, ObjectType
from bot.executor.orders import RunOrder, RunReport, effective_time_limits
from bot.jobs import LogLevel
from bot.logs import ids
from bot.services.announcements import refresh_approval_messages
from storage.db import Database
from storage.repositories import ClaimedJobResult, Repositories

log = logging.getLogger(__name__)

INTERRUPTED = "interrupted: the process running it stopped"
INTERRUPTED_MESSAGE = "Interrupted: the process running this job stopped before it finished; it was not retried."
DEFAULT_LEASE = timedelta(seconds=60)


@dataclass(frozen=True, kw_only=True)
class Prepared:
    """A claimed job result made ready: the order to run, or the report of a run refused before it started."""

    order: RunOrder | None
    refused: RunReport | None


def run_refusal(claimed: ClaimedJobResult, *, code_present: bool, sensitive_data_present: bool) -> str | None:
    """Why a claimed run must not start now (the request's rules, checked again at run time), or None."""
    job = claimed.job
    return requests.run_refusal_reason(
        job.facts(code_present=code_present) if job is not None else None,
        scheduled_job_cancelled=claimed.scheduled_job_cancelled,
        dry_run=claimed.dry_run,
        sensitive_data_present=sensitive_data_present,
    )


def prepare(
    claimed: ClaimedJobResult,
    *,
    code_present: bool,
    sensitive_data: dict[str, Any] | None,
    default_time_limit: timedelta,
) -> Prepared:
    """The run order for a claimed job result, or the ``errored`` report of a run that must not start.

    Args:
        claimed: the claimed job result.
        code_present: the process that would run it has the job's class.
        sensitive_data: for a job with sensitive variables, its data from this process's memory (None if gone).
        default_time_limit: ``JOBGATE_DEFAULT_TIME_LIMIT``.
    """
    reason = run_refusal(claimed, code_present=code_present, sensitive_data_present=sensitive_data is not None)
    if reason is not None:
        return Prepared(order=None, refused=RunReport.errored(claimed.id, error=reason, message=reason,
                                                              started_at=claimed.started_at))
    job = claimed.job
    assert job is not None
    soft, hard = effective_time_limits(soft_time_limit=job.soft_time_limit, time_limit=job.time_limit,
                                       default=default_time_limit)
    return Prepared(
        order=RunOrder(
            job_result_id=claimed.id, job_slug=job.slug, job_name=job.name,
            data=sensitive_data if job.has_sensitive_variables else claimed.data,
            commit=not claimed.dry_run, user_id=claimed.user_id, has_sensitive_variables=job.has_sensitive_variables,
            soft_time_limit=soft, time_limit=hard, approved_job_version=claimed.job_version,
            scheduled_job_id=claimed.scheduled_job_id,
        ),
        refused=None,
    )


def finished_run(report: RunReport) -> FinishedRun:
    """A run report as the outcome storage records."""
    return FinishedRun(
        job_result_id=report.job_result_id, status=report.status, started_at=report.started_at,
        completed_at=report.finished_at, error=report.error, output=report.output,
        log=tuple(LogRecord(logged_at=e.logged_at, level=e.level.value, message=e.message, obj=e.obj)
                  for e in report.log),
    )


def record_outcomes(
    repos: Repositories, reports: Sequence[tuple[RunReport, str | None]], *, runner_id: str, now: datetime
) -> set[str]:
    """Record run outcomes held by ``runner_id`` and tell each requester, inside the caller's transaction.

    Args:
        repos: the repositories of the open write transaction.
        reports: each report with the user the run ran as (who is told how it went).
        runner_id: the runner that claimed the runs; outcomes of runs it no longer holds are dropped.
        now: when the notifications are written.

    Returns:
        The ids of the job results whose outcome was recorded.
    """
    recorded = repos.job_results.finish([finished_run(report) for report, _ in reports], runner_id=runner_id)
    announcements = []
    for report, user_id in reports:
        if report.job_result_id not in recorded:
            log.warning("job result %s was no longer held by %s (reaped or given up on); its outcome is dropped",
                        report.job_result_id, runner_id, extra=ids(job_result_id=report.job_result_id))
        elif report.refused_version is not None:
            recheck_approval(repos, report.job_result_id, report.refused_version, now=now)
        elif user_id:
            announcements.append(run_finished(report.job_result_id, user_id))
    repos.outbox.add_many(announcements, now=now)
    show_dry_runs(repos, recorded, now=now)
    return recorded


def show_dry_runs(repos: Repositories, job_result_ids: Collection[str], *, now: datetime) -> None:
    """Among runs that just ended, the dry runs of requests awaiting approval, and the runs of approved one-off
    requests: their approval messages show them."""
    shown = set(repos.job_results.requests_dry_run(sorted(job_result_ids)).values())
    shown.update(repos.job_results.approved_one_offs_run(sorted(job_result_ids)))
    for scheduled_job_id in sorted(shown):
        refresh_approval_messages(repos, scheduled_job_id, actor_id=None, now=now)


def recheck_approval(repos: Repositories, job_result_id: str, refused_version: tuple[str, str], *,
                     now: datetime) -> None:
    """A worker refused a run because the code it loaded is not the approved version: record that version as the
    job's, and make the scheduled job due now, so the dispatcher lapses its approval (asking the approvers again and
    telling the requester) through the same path as a change seen at sync."""
    approved, loaded = refused_version
    result = repos.job_results.get(job_result_id)
    if result is None or result.scheduled_job_id is None:
        return
    if result.job is not None and loaded:
        repos.jobs.set_version(result.job.id, loaded, now=now)
    if repos.scheduled_jobs.recheck_run(result.scheduled_job_id, approved_job_version=approved, now=now) is not None:
        repos.scheduled_jobs.notify_wakeup()
    log.warning("job result %s not run: the worker's code (%s) is not the approved version (%s)", job_result_id,
                loaded[:10], approved[:10])


def run_finished(job_result_id: str, user_id: str) -> OutboxMessage:
    """The notification that tells the person a run ran as how it went (the notifier delivers it)."""
    return OutboxMessage(channel=user_id, kind=OutboxKind.RUN_FINISHED, payload={"job_result_id": job_result_id},
                         ref_type=ObjectType.JOB_RESULT, ref_id=job_result_id)


def announce(repos: Repositories, job_result_id: str, user_id: str | None, *, now: datetime) -> None:
    """Tell the person the run ran as how it went."""
    if user_id:
        repos.outbox.add(run_finished(job_result_id, user_id), now=now)


def renew_leases(db: Database, held: dict[str, list[str]], *, now: datetime, lease: timedelta) -> int:
    """Extend the leases of the runs still going, per runner id; returns how many are still held."""
    if not any(held.values()):
        return 0
    with db.write() as session:
        repos = Repositories(session)
        return sum(repos.job_results.renew_leases(ids, runner_id=runner_id, lease_until=now + lease)
                   for runner_id, ids in held.items() if ids)


def fail_held(db: Database, ids: Sequence[str], *, runner_id: str, error: str, message: str, now: datetime) -> int:
    """Mark runs ``runner_id`` holds as ``errored`` with ``error`` (their process is gone), and tell the requesters."""
    with db.write() as session:
        repos = Repositories(session)
        failed = repos.job_results.fail_unfinished(list(ids), runner_id=runner_id, now=now, error=error)
        for result in failed:
            repos.job_results.add_log(result.id, [LogRecord(logged_at=now, level=LogLevel.FAILURE.value,
                                                            message=message)])
            announce(repos, result.id, result.user_id, now=now)
        show_dry_runs(repos, [result.id for result in failed], now=now)
    return len(failed)


def reap_expired(db: Database, *, now: datetime, own_runner_id: str | None = None,
                 holding: Callable[[], Collection[str]] = frozenset) -> int:
    """Mark runs whose lease expired (their runner died) as ``errored`` ("interrupted"); returns how many.

    Args:
        db: the database.
        now: the time leases are compared with.
        own_runner_id: the runner id of the process that reaps. Its own runs are alive whatever their lease says
            (a database outage may have kept the heartbeat from renewing them): of those, only the ones it no
            longer holds in memory are reaped.
        holding: the job results ``own_runner_id`` holds in memory (queued, running, or waiting to be recorded).
    """
    with db.write() as session:
        repos = Repositories(session)
        reaped = repos.job_results.fail_expired(now=now, error=INTERRUPTED, except_runner_id=own_runner_id)
        if own_runner_id is not None:
            expired_own = repos.job_results.expired_of(own_runner_id, now=now)
            if expired_own:
                alive = set(holding())  # read after the expired ones: a run claimed since is not among them
                lost = [i for i in expired_own if i not in alive]
                reaped += repos.job_results.fail_unfinished(lost, runner_id=own_runner_id, now=now,
                                                            error=INTERRUPTED)
        for result in reaped:
            repos.job_results.add_log(result.id, [LogRecord(logged_at=now, level=LogLevel.FAILURE.value,
                                                            message=INTERRUPTED_MESSAGE)])
            announce(repos, result.id, result.user_id, now=now)
        show_dry_runs(repos, [result.id for result in reaped], now=now)
    for result in reaped:
        log.warning("job result %s interrupted: its runner stopped (lease expired)", result.id,
                    extra=ids(job_result_id=result.id))
    return len(reaped)


def reap_dead_local(db: Database, *, own_runner_id: str, now: datetime) -> int:
    """Mark as interrupted the runs held by processes of this host that no longer exist (a crash, ``kill -9``).

    This spares a restarted server from waiting for the lease to expire; runs held on other hosts are left to the
    lease.
    """
    host = own_runner_id.split(":", 1)[0]
    with db.read() as session:
        held = Repositories(session).job_results.runners_of_unfinished(f"{host}:")
    dead: dict[str, list[str]] = {}
    for job_result_id, runner_id in held.items():
        if runner_id != own_runner_id and not process_alive(runner_id):
            dead.setdefault(runner_id, []).append(job_result_id)
    count = sum(fail_held(db, ids, runner_id=runner_id, error=INTERRUPTED, message=INTERRUPTED_MESSAGE, now=now)
                for runner_id, ids in dead.items())
    if count:
        log.warning("%d job results interrupted: the process running them is gone", count)
    return count


def process_alive(runner_id: str) -> bool:
    """Whether the process named in a runner id (``host:pid:nonce``) of this host still exists."""
    try:
        pid = int(runner_id.split(":")[1])
    except (IndexError, ValueError):
        return True  # not one of ours: leave it to the lease
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def host_name() -> str:
    """This host's name as runner ids carry it."""
    return socket.gethostname()[:32]
