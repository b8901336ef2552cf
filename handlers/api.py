"""The REST API under ``/api/``, compatible with Nautobot 1.6's job scheduling and approval endpoints.

``install(app, services)`` adds the routes of CONTRACT.md ("REST API"), each with and without its trailing slash,
the JSON error handling, and the request-body schemas of ``/api/schema/``. Every route does what a Slack listener
does: authenticate, parse (``handlers/api_parse.py``), call exactly one service, render (``handlers/api_render.py``).
The services decide everything (permissions, validation order, messages), so the API and Slack cannot disagree. The
API only words what depends on the edge: the status of each kind of refusal, a user named by ID (not a Slack
mention), and Nautobot's past-due text naming the ``force`` parameter.

Authentication is ``Authorization: Token <token>`` (tokens from ``jobgate token create``). An API caller acts as the
Slack user the token was made for, without Slack user-group memberships: permissions granted through a user-group
handle (``"@net-approvers"``) apply in Slack only; grant API users by user ID or through a group of user IDs.

Errors are JSON objects: ``{"detail": "..."}``, or per-field lists for invalid input (``{"schedule": {"interval":
[...]}}``, ``{"errors": {...}}`` for job data), answered by ``handlers/api_errors.py``. Anything unexpected is logged
and answered with a 500 that shows no internals.

Must not import sqlalchemy or storage.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, Query, Request, Response
from fastapi.routing import APIRoute
from fastapi.security import APIKeyHeader
from pydantic import BaseModel

from bot.config import Settings
from bot.domain.approvals import ApprovalState
from bot.domain.permissions import Actor
from bot.domain.results import JobResultStatus
from bot.domain.schedules import IntervalType
from bot.services import Services
from handlers.api_docs import install_docs
from handlers.api_errors import install_error_handling
from handlers.api_models import (
    ApproveRequestIn,
    BriefJobResultListOut,
    BriefScheduledJobListOut,
    DenyRequestIn,
    JobListOut,
    JobOut,
    JobResultListOut,
    JobResultOut,
    RunRequestIn,
    RunResultOut,
    ScheduledJobListOut,
    ScheduledJobOut,
)
from handlers.api_multipart import body_from_multipart, is_multipart
from handlers.api_parse import (
    MAX_BODY_BYTES,
    MAX_OFFSET,
    PayloadTooLargeError,
    parse_approve_comment,
    parse_deny_reason,
    parse_filter,
    parse_flag,
    parse_ident,
    parse_indent,
    parse_json,
    parse_page,
    parse_run_request,
    parse_token,
    unknown_keys_error,
)
from handlers.api_render import (
    build_job,
    build_job_list,
    build_job_result,
    build_job_result_list,
    build_run_result,
    build_scheduled_job,
    build_scheduled_job_list,
)
from handlers.api_schema import document_bodies, error_responses, request_body

__all__ = ["API_PREFIX", "install"]

log = logging.getLogger(__name__)

API_PREFIX = "/api"
API_VERSION = "1.3"

_token_header = APIKeyHeader(
    name="Authorization",
    scheme_name="TokenAuth",
    description="`Token <token>`; create one with `jobgate token create --user SLACK_USER_ID`.",
    auto_error=False,
)


# ------------------------------------------------------------------------------------------------ request context


@dataclass(frozen=True)
class Caller:
    """An API request that carries a token: the token, the services, and how to render the answer.

    The dependency that builds it only reads headers (a missing or malformed ``Authorization`` is refused at once,
    before the body is read); :meth:`authenticate` looks the token up, in the route's worker thread, so a request
    costs one hop to a thread and the body is parsed only once the caller is known.

    Attributes:
        token: the token from ``Authorization: Token <token>``, not yet checked.
        services: the use cases.
        api_root: absolute URL of ``/api/``, ending with a slash (for the ``url`` fields).
        url: the absolute URL of this request (for ``next`` and ``previous``).
        indent: the JSON indent the ``Accept`` header asked for, or None.
        default_time_zone: the zone of a start time given without an offset and without ``schedule.time_zone``.
    """

    token: str
    services: Services
    api_root: str
    url: str
    indent: int | None
    default_time_zone: str

    def authenticate(self) -> Actor:
        """The Slack user the token belongs to, without user-group memberships.

        Raises:
            PermissionDeniedError: the token is unknown (``Invalid token.``), or revoked or expired (saying so).
        """
        return self.services.tokens.authenticate(self.token)

    def render(self, model: BaseModel, status_code: int = 200) -> Response:
        """Serialise a response model (honouring ``indent``)."""
        return Response(
            content=model.model_dump_json(indent=self.indent),
            status_code=status_code,
            media_type="application/json",
            headers={"API-Version": API_VERSION},
        )


async def read_caller(request: Request, authorization: Annotated[str | None, Depends(_token_header)]) -> Caller:
    """The caller's token and rendering preferences; 403 with DRF's messages when there is no usable token."""
    services: Services = request.app.state.api_services
    settings: Settings = request.app.state.settings
    _check_query(request)
    return Caller(
        token=parse_token(authorization),
        services=services,
        api_root=f"{request.base_url}{API_PREFIX.strip('/')}/",
        url=str(request.url),
        indent=parse_indent(request.headers.get("accept")),
        default_time_zone=settings.time_zone,
    )


def _check_query(request: Request) -> None:
    """Refuse query parameters the route does not know, as Nautobot's ``STRICT_FILTERING`` does: a misspelt filter
    must not silently list everything."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or not request.query_params:
        return
    known = {param.alias for param in route.dependant.query_params}
    unknown = [key for key in dict.fromkeys(request.query_params.keys()) if key not in known]
    if unknown:
        raise unknown_keys_error(unknown, "Unknown filter field", ())


async def read_body(request: Request) -> bytes:
    """The raw request body (parsed by the route once the caller is authenticated); 413 past the size limit."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise PayloadTooLargeError(f"Request body too large: at most {MAX_BODY_BYTES} bytes are accepted.")
    raw = bytearray()
    async for chunk in request.stream():
        raw.extend(chunk)
        if len(raw) > MAX_BODY_BYTES:
            break
    return bytes(raw)


# ------------------------------------------------------------------------------------------------------ routes

ApiCaller = Annotated[Caller, Depends(read_caller)]
RawBody = Annotated[bytes, Depends(read_body)]
ContentType = Annotated[str | None, Header(include_in_schema=False)]
Limit = Annotated[int | None, Query(ge=0, description="Page size (default 50; 0 or more than 1000 means 1000).")]
Offset = Annotated[int | None, Query(ge=0, le=MAX_OFFSET, description="Items to skip.")]
JobFilter = Annotated[str | None, Query(description="Only for this job: its UUID, slug or name.")]
ApprovalStateFilter = Annotated[
    str | None,
    Query(description="pending, approved, denied (the denied ones, kept for the record) or not_required.",
          json_schema_extra={"enum": [str(state) for state in ApprovalState]}),
]
_FLAG_VALUES = {"enum": ["true", "false", "1", "0", "yes", "no"]}
UserFilter = Annotated[str | None, Query(description="Only those of this Slack user ID (requester, or run as).")]
IntervalFilter = Annotated[
    str | None,
    Query(description="Only this schedule type.", json_schema_extra={"enum": [str(i) for i in IntervalType]}),
]
StatusFilter = Annotated[
    str | None,
    Query(description="Only results in this status.", json_schema_extra={"enum": [str(s) for s in JobResultStatus]}),
]
ScheduledJobFilter = Annotated[str | None, Query(description="Only the results of this scheduled job (its id).")]
DryRunFilter = Annotated[
    str | None, Query(description="true: only dry runs; false: only real runs.", json_schema_extra=_FLAG_VALUES),
]
Force = Annotated[
    str | None,
    Query(description="Approve a `future` request past its start time anyway: true, 1 or yes (false, 0 or no: do "
          "not). Any other value is refused.", json_schema_extra=_FLAG_VALUES),
]
Brief = Annotated[
    str | None,
    Query(description="true, 1 or yes: only the brief fields (id, url, display, name, start_time, interval, "
          "crontab).", json_schema_extra=_FLAG_VALUES),
]

BriefResult = Annotated[
    str | None,
    Query(description="true, 1 or yes: only the brief fields (id, url, display, name, created, completed, user, "
          "status).", json_schema_extra=_FLAG_VALUES),
]


def list_jobs(caller: ApiCaller, limit: Limit = None, offset: Offset = None) -> Response:
    """Jobs the caller may see (installed, and not hidden unless the caller is an admin)."""
    actor = caller.authenticate()
    page = parse_page(limit, offset)
    jobs = caller.services.listings.list_jobs(actor)
    return caller.render(build_job_list(jobs, url=caller.url, limit=page.limit, offset=page.offset,
                                        api_root=caller.api_root))


def get_job(id: str, caller: ApiCaller) -> Response:
    """One job, by UUID, slug or name."""
    actor = caller.authenticate()
    job = caller.services.listings.get_job(parse_ident(id, not_found=f"Job {id!r} not found."), actor)
    return caller.render(build_job(job, api_root=caller.api_root))


def run_job(id: str, caller: ApiCaller, body: RawBody, content_type: ContentType = None) -> Response:
    """Run a job now, schedule it, or request approval for it; 201 with the schedule or the job result.

    The body is JSON, or (for jobs with files) Nautobot's multipart form: a field per variable, a file part per file,
    and `_commit`, `_schedule_name`, `_schedule_interval`, `_schedule_start_time`, `_schedule_crontab`."""
    actor = caller.authenticate()
    decoded = body_from_multipart(body, content_type or "") if is_multipart(content_type) else parse_json(body)
    request = parse_run_request(decoded, default_time_zone=caller.default_time_zone)
    outcome = caller.services.requests.request_job(
        actor=actor, job=parse_ident(id, not_found=f"Job {id!r} not found."), data=request.data,
        commit=request.commit, schedule=request.schedule,
    )
    result = build_run_result(scheduled_job=outcome.scheduled_job, job_result=outcome.job_result,
                              api_root=caller.api_root)
    return caller.render(result, status_code=201)


def get_job_by_class_path(module: str, job_class: str, caller: ApiCaller) -> Response:
    """One job, by Nautobot 1.x's class path ``local/<module>/<Class>`` (the same as its slug ``<module>.<Class>``)."""
    return get_job(f"{module}.{job_class}", caller)


def run_job_by_class_path(module: str, job_class: str, caller: ApiCaller, body: RawBody,
                          content_type: ContentType = None) -> Response:
    """Run a job named by Nautobot 1.x's class path ``local/<module>/<Class>``, as ``…/jobs/{id}/run/``."""
    return run_job(f"{module}.{job_class}", caller, body, content_type)


def list_scheduled_jobs(caller: ApiCaller, job: JobFilter = None, job_model: JobFilter = None,
                        approval_state: ApprovalStateFilter = None, user: UserFilter = None,
                        interval: IntervalFilter = None, limit: Limit = None,
                        offset: Offset = None, brief: Brief = None) -> Response:
    """Pending and active scheduled jobs the caller may see; ``?approval_state=pending`` is the approval queue."""
    actor = caller.authenticate()
    page = parse_page(limit, offset)
    found = caller.services.listings.list_scheduled_jobs(
        actor, job=parse_filter(job, "job") or parse_filter(job_model, "job_model"),
        approval_state=parse_filter(approval_state, "approval_state"), user=parse_filter(user, "user"),
        interval=parse_filter(interval, "interval"), limit=page.limit, offset=page.offset,
    )
    return caller.render(build_scheduled_job_list(found, url=caller.url, limit=page.limit, offset=page.offset,
                                                  api_root=caller.api_root, brief=parse_flag(brief, "brief")))


def get_scheduled_job(id: str, caller: ApiCaller) -> Response:
    """One scheduled job, also a denied, cancelled or finished one."""
    actor = caller.authenticate()
    record = caller.services.listings.get_scheduled_job(actor, id)
    return caller.render(build_scheduled_job(record, api_root=caller.api_root))


def approve_scheduled_job(id: str, caller: ApiCaller, body: RawBody, force: Force = None) -> Response:
    """Approve a pending request, with an optional JSON body `{"comment": "..."}`; a `future` request past its start
    time needs `force`. While more approvals are needed it stays `pending`, with this approval listed."""
    actor = caller.authenticate()
    record = caller.services.decisions.approve_scheduled_job(actor=actor, scheduled_job_id=id,
                                                             force=parse_flag(force, "force"),
                                                             comment=parse_approve_comment(parse_json(body)))
    return caller.render(build_scheduled_job(record, api_root=caller.api_root))


def deny_scheduled_job(id: str, caller: ApiCaller, body: RawBody) -> Response:
    """Deny a pending request (or withdraw one's own); it is kept as `denied`, with the optional reason or comment."""
    actor = caller.authenticate()
    record = caller.services.decisions.deny_scheduled_job(actor=actor, scheduled_job_id=id,
                                                          reason=parse_deny_reason(parse_json(body)))
    return caller.render(build_scheduled_job(record, api_root=caller.api_root))


def dry_run_scheduled_job(id: str, caller: ApiCaller) -> Response:
    """Run a pending request's job now with `commit=false`; the request stays pending."""
    actor = caller.authenticate()
    result = caller.services.decisions.dry_run_scheduled_job(actor=actor, scheduled_job_id=id)
    return caller.render(build_job_result(result, api_root=caller.api_root))


def delete_scheduled_job(id: str, caller: ApiCaller) -> Response:
    """End a scheduled job for good, as ``/jobs cancel`` does: the requester, or ``delete_scheduledjob``.

    The scheduled job is kept for the record (``enabled: false``, ``end_reason: cancelled``); 204 as in Nautobot.
    """
    actor = caller.authenticate()
    caller.services.management.cancel_scheduled_job(actor=actor, scheduled_job_id=id)
    return Response(status_code=204, headers={"API-Version": API_VERSION})


def pause_scheduled_job(id: str, caller: ApiCaller) -> Response:
    """Skip a recurring scheduled job's due times until it is resumed: the requester, or ``change_scheduledjob``."""
    actor = caller.authenticate()
    record = caller.services.management.pause_scheduled_job(actor=actor, scheduled_job_id=id)
    return caller.render(build_scheduled_job(record, api_root=caller.api_root))


def resume_scheduled_job(id: str, caller: ApiCaller) -> Response:
    """Restart a paused scheduled job; the due times it missed while paused are skipped."""
    actor = caller.authenticate()
    record = caller.services.management.resume_scheduled_job(actor=actor, scheduled_job_id=id)
    return caller.render(build_scheduled_job(record, api_root=caller.api_root))


def list_job_results(caller: ApiCaller, job: JobFilter = None, job_model: JobFilter = None,
                     status: StatusFilter = None, user: UserFilter = None, scheduled_job: ScheduledJobFilter = None,
                     dry_run: DryRunFilter = None, limit: Limit = None, offset: Offset = None,
                     brief: BriefResult = None) -> Response:
    """Job results the caller may see, newest first, each with ``log_count`` but not its log lines (one result's
    ``GET`` shows them)."""
    actor = caller.authenticate()
    page = parse_page(limit, offset)
    brief_flag = parse_flag(brief, "brief")
    found = caller.services.listings.list_job_results(
        actor, job=parse_filter(job, "job") or parse_filter(job_model, "job_model"),
        status=parse_filter(status, "status"), user=parse_filter(user, "user"),
        scheduled_job=parse_filter(scheduled_job, "scheduled_job"),
        dry_run=parse_flag(dry_run, "dry_run") if dry_run is not None else None,
        limit=page.limit, offset=page.offset,
    )
    return caller.render(build_job_result_list(found, url=caller.url, limit=page.limit, offset=page.offset,
                                               api_root=caller.api_root, brief=brief_flag))


def get_job_result(id: str, caller: ApiCaller) -> Response:
    """One job result with its log."""
    actor = caller.authenticate()
    result = caller.services.listings.get_job_result(actor, id)
    return caller.render(build_job_result(result, api_root=caller.api_root))


# ------------------------------------------------------------------------------------------------------ wiring


@dataclass(frozen=True)
class _Route:
    method: str
    path: str
    endpoint: Callable[..., Response]
    model: Any
    status_code: int
    errors: tuple[int, ...]
    body: type[BaseModel] | None = None


_ROUTES = (
    _Route("GET", "/extras/jobs/", list_jobs, JobListOut, 200, (400, 403)),
    _Route("GET", "/extras/jobs/{id}/", get_job, JobOut, 200, (403, 404)),
    _Route("POST", "/extras/jobs/{id}/run/", run_job, RunResultOut, 201, (400, 403, 404, 405, 413, 429),
           RunRequestIn),
    _Route("GET", "/extras/jobs/local/{module}/{job_class}/", get_job_by_class_path, JobOut, 200, (403, 404)),
    _Route("POST", "/extras/jobs/local/{module}/{job_class}/run/", run_job_by_class_path, RunResultOut, 201,
           (400, 403, 404, 405, 413, 429), RunRequestIn),
    _Route("GET", "/extras/scheduled-jobs/", list_scheduled_jobs, ScheduledJobListOut | BriefScheduledJobListOut,
           200, (400, 403, 404)),
    _Route("GET", "/extras/scheduled-jobs/{id}/", get_scheduled_job, ScheduledJobOut, 200, (403, 404)),
    _Route("POST", "/extras/scheduled-jobs/{id}/approve/", approve_scheduled_job, ScheduledJobOut, 200,
           (400, 403, 404, 405, 409, 413), ApproveRequestIn),
    _Route("POST", "/extras/scheduled-jobs/{id}/deny/", deny_scheduled_job, ScheduledJobOut, 200,
           (400, 403, 404, 409, 413), DenyRequestIn),
    _Route("POST", "/extras/scheduled-jobs/{id}/dry-run/", dry_run_scheduled_job, JobResultOut, 200,
           (403, 404, 405, 409)),
    _Route("DELETE", "/extras/scheduled-jobs/{id}/", delete_scheduled_job, None, 204, (403, 404, 409)),
    _Route("POST", "/extras/scheduled-jobs/{id}/pause/", pause_scheduled_job, ScheduledJobOut, 200,
           (403, 404, 409)),
    _Route("POST", "/extras/scheduled-jobs/{id}/resume/", resume_scheduled_job, ScheduledJobOut, 200,
           (403, 404, 409)),
    _Route("GET", "/extras/job-results/", list_job_results, JobResultListOut | BriefJobResultListOut, 200,
           (400, 403, 404)),
    _Route("GET", "/extras/job-results/{id}/", get_job_result, JobResultOut, 200, (403, 404)),
)


def install(app: FastAPI, services: Services) -> None:
    """Add the REST API to the app: routes (trailing slash optional), error handling and schema additions.

    Args:
        app: the FastAPI app (``bot.app.build_app``).
        services: the use cases the routes call.
    """
    app.state.api_services = services
    for route in _ROUTES:
        path = API_PREFIX + route.path
        for variant, documented in ((path, True), (path.rstrip("/"), False)):
            app.add_api_route(
                variant, route.endpoint, methods=[route.method], status_code=route.status_code,
                response_model=route.model, responses=error_responses(*route.errors), include_in_schema=documented,
                tags=["extras"], openapi_extra=request_body(route.body) if route.body else None,
            )
    install_error_handling(app, prefix=API_PREFIX)
    install_docs(app)
    document_bodies(app, (RunRequestIn, DenyRequestIn, ApproveRequestIn), prefix=API_PREFIX)
