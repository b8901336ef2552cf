"""How the REST API answers what goes wrong: refusals as JSON with Nautobot's statuses, validation errors as 400 with
per-field lists, an unreachable database as 503 with ``Retry-After``, unknown paths and methods in DRF's words, and
anything unexpected as a logged 500 that shows nothing of jobgate's internals.

Must not import sqlalchemy or storage.
"""

from __future__ import annotations

import json
import logging

from fastapi import FastAPI, Request, Response
from fastapi.exception_handlers import http_exception_handler, request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.domain.errors import (
    AlreadyDecidedError,
    DatabaseUnavailableError,
    DomainError,
    ErrorKind,
    FieldErrors,
    InvalidDataError,
    InvalidScheduleError,
    PastDueError,
)
from handlers.api_parse import PayloadTooLargeError, parse_indent

__all__ = [
    "DATABASE_UNAVAILABLE_DETAIL",
    "HTTP_STATUS",
    "INTERNAL_ERROR_MESSAGE",
    "PAST_DUE_DETAIL",
    "error_body",
    "error_message",
    "http_status",
    "install_error_handling",
]

log = logging.getLogger("handlers.api")

INTERNAL_ERROR_MESSAGE = "Internal server error."


def install_error_handling(app: FastAPI, *, prefix: str) -> None:
    """Answer errors under ``prefix`` (the API's path) as the API does; other paths keep FastAPI's answers."""
    app.state.api_prefix = prefix
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_middleware(_ServerErrors, prefix=prefix)


def _is_api(request: Request) -> bool:
    path: str = request.scope.get("path", "")
    prefix: str = request.app.state.api_prefix
    return path == prefix or path.startswith(prefix + "/")
def _json(request: Request, body: object, status_code: int, headers: dict[str, str] | None = None) -> Response:
    indent = parse_indent(request.headers.get("accept"))
    text = json.dumps(body, indent=indent, ensure_ascii=False)
    return Response(content=text.encode("utf-8", "replace"), status_code=status_code, media_type="application/json",
                    headers=headers)


HTTP_STATUS: dict[ErrorKind, int] = {
    ErrorKind.INVALID_INPUT: 400,
    ErrorKind.FORBIDDEN: 403,
    ErrorKind.NOT_FOUND: 404,
    ErrorKind.JOB_DISABLED: 403,  # Nautobot: "This job is not enabled to be run." is a 403
    ErrorKind.NOT_RUNNABLE: 405,  # Nautobot: not installed, source code missing
    ErrorKind.NEEDS_CONFIRMATION: 400,  # Nautobot: a past-due approval without force
    ErrorKind.CONFLICT: 409,
    ErrorKind.UNAVAILABLE: 503,  # the database cannot be reached: retry after RETRY_AFTER_SECONDS
    ErrorKind.LIMIT_REACHED: 429,
}
"""The HTTP status of each kind of refusal (the statuses Nautobot answers; a second decision is jobgate's 409)."""

PAST_DUE_DETAIL = (
    "The job's start time is in the past. If you want to force a run anyway, add the `force` query parameter."
)
"""The refusal of a past-due approval without ``force``: Nautobot's text, verbatim."""


DATABASE_UNAVAILABLE_DETAIL = "jobgate cannot reach its database; retry shortly."
RETRY_AFTER_SECONDS = 5
"""What a 503 for an unreachable database suggests in ``Retry-After``."""

LIMIT_RETRY_AFTER = 60
"""Seconds a client is asked to wait after 429 (a limit reached): a pending request frees its place only when it is
decided or withdrawn, so there is no exact time; a minute keeps a retrying script cheap."""


def http_status(error: DomainError) -> int:
    """The HTTP status of a refusal: by its kind (:data:`HTTP_STATUS`); 413 for a body that is too large."""
    if isinstance(error, PayloadTooLargeError):
        return 413
    return HTTP_STATUS[error.kind]


def error_message(error: DomainError) -> str:
    """A refusal worded for an API client: users by their Slack user ID, the past-due hint naming ``force``."""
    if isinstance(error, PastDueError):
        return PAST_DUE_DETAIL
    if isinstance(error, AlreadyDecidedError):
        return error.describe()
    if isinstance(error, DatabaseUnavailableError):
        return DATABASE_UNAVAILABLE_DETAIL
    return error.message


def error_body(error: DomainError) -> object:
    """The JSON body of a refusal: per-field lists where the error has fields, else ``{"detail": message}``."""
    if isinstance(error, FieldErrors):
        if isinstance(error, InvalidDataError):
            return {"errors": error.errors}
        if isinstance(error, InvalidScheduleError):
            return {"schedule": error.errors}
        if isinstance(error.errors, dict):
            return error.errors
        return {"detail": error.message}
    return {"detail": error_message(error)}


async def _domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    if isinstance(exc, DatabaseUnavailableError):
        log.warning("The database is unavailable answering %s %s: %s", request.method, request.url.path, exc.cause)
        return _json(request, error_body(exc), http_status(exc), headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
    headers = {"Retry-After": str(LIMIT_RETRY_AFTER)} if exc.kind is ErrorKind.LIMIT_REACHED else None
    return _json(request, error_body(exc), http_status(exc), headers)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    if not _is_api(request):
        return await request_validation_exception_handler(request, exc)
    fields: dict[str, list[str]] = {}
    for error in exc.errors():
        location = [str(part) for part in error.get("loc", ()) if part not in ("query", "path", "header", "body")]
        fields.setdefault(".".join(location) or "non_field_errors", []).append(str(error.get("msg", "Invalid.")))
    return _json(request, fields, 400)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if not _is_api(request):
        return await http_exception_handler(request, exc)
    if exc.status_code == 404:
        detail = "Not found."
    elif exc.status_code == 405:
        detail = f'Method "{request.method}" not allowed.'
    else:
        detail = str(exc.detail)
    return _json(request, {"detail": detail}, exc.status_code, headers=dict(exc.headers or {}))


class _ServerErrors:
    """Under the API's path, turn an unexpected exception into a logged 500 ``{"detail": "Internal server error."}``."""

    def __init__(self, app: ASGIApp, *, prefix: str) -> None:
        self.app = app
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not (path == self.prefix or path.startswith(self.prefix + "/")):
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            log.exception("Unexpected error answering %s %s", scope.get("method"), path)
            if started:
                raise
            response = JSONResponse({"detail": INTERNAL_ERROR_MESSAGE}, status_code=500)
            await response(scope, receive, send)

