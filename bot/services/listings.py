"""Listings: what an actor may see of jobs, the approval queue, scheduled jobs and job results.

Each call is one read transaction. Visibility follows one domain rule (``bot.domain.requests.may_view``): the owner
sees their own, a job is visible to whoever may run it, else the view permission decides, within its ``jobs``
constraint. Must not import Slack or handlers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from bot.domain import approvals, management, requests, short_ids
from bot.domain.approvals import Action, ApprovalState
from bot.domain.errors import FieldErrors, NotFoundError
from bot.domain.permissions import Actor, Perm
from bot.domain.records import JobRecord, JobResultRecord, Page, ScheduledJobRecord
from bot.domain.results import JobResultStatus
from bot.domain.schedules import IntervalType
from bot.services.deps import ServiceDeps, get_visible_scheduled_job, page_bounds, request_facts
from storage.repositories import Repositories


class Listings:
    """Read-only views, each limited to what the actor may see.

    Args:
        deps: the database, policy, catalog and clock.
    """

    def __init__(self, deps: ServiceDeps) -> None:
        self._deps = deps

    # -------------------------------------------------------------------------------------------------------- jobs

    def list_jobs(self, actor: Actor | None = None) -> list[JobRecord]:
        """Jobs the actor may see (``view_job`` or ``run_job`` on them); every job when no actor (CLI)."""
        with self._deps.db.read() as session:
            jobs = Repositories(session).jobs.list_all()
        if actor is None:
            return jobs
        policy = self._deps.policy
        return [
            job for job in jobs
            if job.installed and (not job.hidden or policy.is_admin(actor)) and self._may_see_job(actor, job)
        ]

    def get_job(self, ident: str, actor: Actor | None = None) -> JobRecord:
        """A job by UUID, slug or name. Raises NotFoundError when it does not exist or the actor may not see it."""
        with self._deps.db.read() as session:
            job = Repositories(session).jobs.get(ident)
        if job is None or (actor is not None and not self._may_see_job(actor, job)):
            raise NotFoundError(f"Job {ident!r} not found.")
        return job

    def get_run_form(self, ident: str, actor: Actor) -> JobRecord:
        """A job as the run modal draws it: as ``get_job``, with its variables described by its code as loaded now,
        so choices computed by the job (``ObjectVar``) are the current ones."""
        job = self.get_job(ident, actor)
        found = self._deps.catalog.get(job.slug)
        if found is None:
            return job
        return replace(job, variables={name: var.describe() for name, var in found.info.variables.items()})

    def _may_see_job(self, actor: Actor, job: JobRecord) -> bool:
        return requests.may_view(job.ref, actor=actor, policy=self._deps.policy, perm=Perm.VIEW_JOB)

    # ---------------------------------------------------------------------------------------------- scheduled jobs

    def list_approval_queue(self, actor: Actor, *, limit: int = 50, offset: int = 0) -> Page[ScheduledJobRecord]:
        """Pending requests the actor may see, oldest start first."""
        limit, offset = page_bounds(limit, offset)
        with self._deps.db.read() as session:
            return self._queue(Repositories(session), actor, limit=limit, offset=offset)

    def _queue(self, repos: Repositories, actor: Actor, *, limit: int, offset: int) -> Page[ScheduledJobRecord]:
        # The actor's own pending requests are always in it, whatever their view permission covers.
        job_ids = self._visible_job_ids(repos, actor, Perm.VIEW_SCHEDULEDJOB)
        return repos.scheduled_jobs.list_queue(limit=limit, offset=offset, job_ids=job_ids, own_user_id=actor.user_id)

    def list_to_approve(self, actor: Actor, *, limit: int = 10,
                        now: datetime | None = None) -> list[ScheduledJobRecord]:
        """Pending requests the actor may approve now (never their own), oldest start first."""
        deps = self._deps
        now = now or deps.clock()
        limit, _ = page_bounds(limit, 0)
        with deps.db.read() as session:
            queue = self._queue(Repositories(session), actor, limit=max(limit * 10, 100), offset=0)
        return [
            record for record in queue.items
            if approvals.can_act(request_facts(deps, record), Action.APPROVE, actor=actor, policy=deps.policy, now=now)
        ][:limit]

    def list_my_requests(self, actor: Actor, *, limit: int = 10, offset: int = 0) -> Page[ScheduledJobRecord]:
        """The actor's own pending and active scheduled jobs, soonest next run first."""
        limit, offset = page_bounds(limit, offset)
        with self._deps.db.read() as session:
            return Repositories(session).scheduled_jobs.list_active(limit=limit, offset=offset, user_id=actor.user_id)

    def menu_actions(self, actor: Actor,
                     records: Sequence[ScheduledJobRecord]) -> dict[str, tuple[management.ManageAction, ...]]:
        """By scheduled job ID, what its menu offers the actor: Pause / Resume / Cancel as its state and the
        actor's permissions allow (the checks a click goes through)."""
        return {record.id: management.permitted_actions(record.facts(), actor=actor, policy=self._deps.policy,
                                                        paused=record.paused) for record in records}

    def list_scheduled_jobs(
        self,
        actor: Actor,
        *,
        job: str | None = None,
        approval_state: str | None = None,
        user: str | None = None,
        interval: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> Page[ScheduledJobRecord]:
        """Pending and active scheduled jobs the actor may see, optionally for one job, approval state (``denied``
        lists the denied ones), requester or interval."""
        limit, offset = page_bounds(limit, offset)
        if interval is not None and interval not in {i.value for i in IntervalType}:
            choices = ", ".join(i.value for i in IntervalType)
            raise FieldErrors({"interval": [f'"{interval}" is not a valid choice ({choices}).']})
        if approval_state is not None and approval_state not in {s.value for s in ApprovalState}:
            choices = ", ".join(s.value for s in ApprovalState)
            raise FieldErrors({"approval_state": [f'"{approval_state}" is not a valid choice ({choices}).']})
        with self._deps.db.read() as session:
            repos = Repositories(session)
            job_ids, job_id = self._listing_scope(repos, actor, Perm.VIEW_SCHEDULEDJOB, job)
            return repos.scheduled_jobs.list_active(
                limit=limit, offset=offset, job_ids=job_ids, own_user_id=actor.user_id, job_id=job_id,
                approval_state=ApprovalState(approval_state) if approval_state is not None else None,
                user_id=user, interval=interval,
            )

    def resolve_scheduled_job_id(self, actor: Actor, typed: str) -> str:
        """The full ID of the scheduled job ``typed`` names: its ID, or a unique prefix of at least 6 characters
        among the scheduled jobs the actor may see (``short_ids``).

        Raises:
            InvalidIdError: it cannot be an ID (or is too short).
            NotFoundError: no scheduled job the actor may see has such an ID.
            AmbiguousIdError: several have; the message lists them (short form and name).
        """
        ref = short_ids.parse_id_ref(typed)
        if ref.full:  # looked up (and its visibility checked) by the use case, as every full ID is
            return ref.text
        with self._deps.db.read() as session:
            found = Repositories(session).scheduled_jobs.find_by_id_prefix(ref.text,
                                                                          limit=short_ids.MAX_CANDIDATES + 20)
        visible = [(record.id, record.name) for record in found
                   if requests.may_view(record.job.ref if record.job else None, actor=actor,
                                        policy=self._deps.policy, perm=Perm.VIEW_SCHEDULEDJOB,
                                        user_id=record.user_id)]
        return short_ids.resolve(ref, visible)

    def get_scheduled_job(self, actor: Actor, scheduled_job_id: str) -> ScheduledJobRecord:
        """One scheduled job, also denied or finished ones. NotFoundError when missing or not visible."""
        with self._deps.db.read() as session:
            return get_visible_scheduled_job(self._deps, Repositories(session), actor, scheduled_job_id)

    # ------------------------------------------------------------------------------------------------- job results

    def list_job_results(
        self, actor: Actor, *, job: str | None = None, status: str | None = None, user: str | None = None,
        scheduled_job: str | None = None, dry_run: bool | None = None, limit: int = 50, offset: int = 0
    ) -> Page[JobResultRecord]:
        """Recent job results the actor may see (``view_jobresult`` on the job, or their own runs), newest first,
        optionally by job, status, the user they ran as, scheduled job, or dry run."""
        limit, offset = page_bounds(limit, offset)
        if status is not None and status not in {s.value for s in JobResultStatus}:
            choices = ", ".join(s.value for s in JobResultStatus)
            raise FieldErrors({"status": [f'"{status}" is not a valid choice ({choices}).']})
        with self._deps.db.read() as session:
            repos = Repositories(session)
            job_ids, job_id = self._listing_scope(repos, actor, Perm.VIEW_JOBRESULT, job)
            return repos.job_results.list_page(limit=limit, offset=offset, job_ids=job_ids,
                                               own_user_id=actor.user_id, job_id=job_id, user_id=user,
                                               status=status, dry_run=dry_run, scheduled_job_id=scheduled_job)

    def get_job_result(self, actor: Actor, job_result_id: str) -> JobResultRecord:
        """One job result with its log. NotFoundError when missing or not visible."""
        with self._deps.db.read() as session:
            result = Repositories(session).job_results.get(job_result_id)
        if result is None:
            raise NotFoundError("Job result not found.")
        requests.check_view(result.job.ref if result.job else None, actor=actor, policy=self._deps.policy,
                            perm=Perm.VIEW_JOBRESULT, user_id=result.user_id)
        return result

    # ------------------------------------------------------------------------------------------------------ scopes

    def _visible_job_ids(self, repos: Repositories, actor: Actor, perm: Perm) -> Sequence[str] | None:
        """IDs of the jobs on which the actor holds ``perm``; None means every job (no constraint applies)."""
        policy = self._deps.policy
        if policy.is_admin(actor):
            return None
        if not policy.has_perm(actor, perm):
            return []
        return [job.id for job in repos.jobs.list_all() if policy.has_perm(actor, perm, job.ref)]

    def _listing_scope(
        self, repos: Repositories, actor: Actor, perm: Perm, job: str | None
    ) -> tuple[Sequence[str] | None, str | None]:
        """What a listing may show: (the jobs whose rows ``perm`` shows, or None for all; the job ``job`` names).

        The actor's own rows are shown besides, whatever ``perm`` covers. A job named in the filter that the actor
        may not see is not found, with the same words as a job that does not exist, so job names do not leak.

        Raises:
            NotFoundError: ``job`` names no job, or one the actor may not see.
        """
        job_ids = self._visible_job_ids(repos, actor, perm)
        if job is None:
            return job_ids, None
        found = repos.jobs.get(job)
        if found is None or not (
            self._may_see_job(actor, found)
            or requests.may_view(found.ref, actor=actor, policy=self._deps.policy, perm=perm)
        ):
            raise NotFoundError(f"Job {job!r} not found.")
        return job_ids, found.id
