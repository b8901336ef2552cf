"""REST API input: the Authorization and Accept headers, JSON bodies and query values, parsed into typed values for
the services, with the messages of Django REST framework and Nautobot.

Every refusal is a ``DomainError`` (``FieldErrors`` per field, ``InvalidScheduleError`` under ``schedule``,
``PermissionDeniedError`` for authentication, :class:`MalformedRequestError` for a body that is not JSON) that the
API's exception handlers render as JSON. Anything a client can send ends here as a 4xx, never as an exception the
database or the serialiser would choke on (NUL characters, lone surrogates, numbers beyond SQL's range).

Parsing only: calls no service, holds no rule of its own that belongs to the domain. Must not import sqlalchemy or
storage.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.domain.errors import (
    DomainError,
    ErrorKind,
    FieldErrors,
    InvalidScheduleError,
    NotFoundError,
    PermissionDeniedError,
)
from bot.domain.requests import MAX_REQUEST_REASON
from bot.domain.times import parse_time
from bot.services import ScheduleInput

__all__ = [
    "DEFAULT_LIMIT",
    "INVALID_TOKEN_MESSAGE",
    "MAX_BODY_BYTES",
    "MAX_LIMIT",
    "MAX_OFFSET",
    "NOT_AUTHENTICATED_MESSAGE",
    "NULL_CHARACTER_MESSAGE",
    "MalformedRequestError",
    "PageRequest",
    "PayloadTooLargeError",
    "RunRequest",
    "parse_deny_reason",
    "parse_filter",
    "parse_flag",
    "parse_ident",
    "parse_indent",
    "parse_json",
    "parse_page",
    "parse_run_request",
    "parse_token",
    "unknown_keys_error",
]

NOT_AUTHENTICATED_MESSAGE = "Authentication credentials were not provided."
INVALID_TOKEN_MESSAGE = "Invalid token."
NULL_CHARACTER_MESSAGE = "Null characters are not allowed."

DEFAULT_LIMIT = 50
"""Nautobot's default page size (``PAGINATE_COUNT``)."""
MAX_LIMIT = 1000
"""Nautobot's ``MAX_PAGE_SIZE``: a larger ``limit`` is cut to it, and ``limit=0`` asks for this many."""
MAX_OFFSET = 2**31 - 1
"""The largest ``offset`` accepted (beyond it SQL would overflow)."""
MAX_BODY_BYTES = 1024 * 1024
"""Request bodies above this size are refused (413)."""
"""Start times from here on are refused: their runs could not be computed (Python's dates end with 9999)."""

RUN_BODY_KEYS = ("data", "commit", "schedule")
"""The top-level keys of a run request; any other is refused (Nautobot ignores them, so a typo such as "shedule"
would run the job at once)."""
MAX_NAMED_KEYS = 10
"""At most this many unknown keys or parameters are named in an error; the rest are counted."""

_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no"})
_BOOLEAN_TRUE = frozenset({"t", "y", "yes", "true", "on", "1"})
_BOOLEAN_FALSE = frozenset({"f", "n", "no", "false", "off", "0"})
_MAX_LENGTHS = {"name": 255, "crontab": 255, "time_zone": 64, "reason": MAX_REQUEST_REASON}
_DATETIME_FORMAT_MESSAGE = (
    "Datetime has wrong format. Use one of these formats instead: YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z]."
)


class MalformedRequestError(DomainError):
    """The request cannot be read at all (not JSON, nested too deep): ``{"detail": "JSON parse error - ..."}``."""

    kind = ErrorKind.INVALID_INPUT


class PayloadTooLargeError(DomainError):
    """The request body is larger than :data:`MAX_BODY_BYTES` (the API answers 413)."""

    kind = ErrorKind.INVALID_INPUT


@dataclass(frozen=True, kw_only=True)
class RunRequest:
    """A parsed ``POST /api/extras/jobs/{id}/run/`` body.

    Attributes:
        data: the job data as sent (validated by the service against the job's variables).
        commit: False for a dry run.
        schedule: the schedule, or None to run now.
    """

    data: object
    commit: bool
    schedule: ScheduleInput | None


@dataclass(frozen=True)
class PageRequest:
    """Which slice of a listing to show."""

    limit: int
    offset: int


# ------------------------------------------------------------------------------------------------------- headers


def parse_token(authorization: str | None) -> str:
    """The token of an ``Authorization: Token <token>`` header, with Django REST framework's refusals.

    Args:
        authorization: the header's value, or None when absent.

    Returns:
        The token (not yet checked against the stored ones).

    Raises:
        PermissionDeniedError: no ``Token`` credentials (another scheme counts as none), or a malformed header.
    """
    parts = (authorization or "").split()
    if not parts or parts[0].lower() != "token":
        raise PermissionDeniedError(NOT_AUTHENTICATED_MESSAGE)
    if len(parts) == 1:
        raise PermissionDeniedError("Invalid token header. No credentials provided.")
    if len(parts) > 2:
        raise PermissionDeniedError("Invalid token header. Token string should not contain spaces.")
    token = parts[1]
    if not (token.isascii() and token.isprintable()):
        raise PermissionDeniedError("Invalid token header. Token string should not contain invalid characters.")
    return token


def parse_indent(accept: str | None) -> int | None:
    """The ``indent`` asked for in an ``Accept`` header (``application/json; version=1.3; indent=4``).

    Like Django REST framework, a value that is not a whole number is ignored and the indent is kept within 0-8; the
    ``version`` parameter is ignored.

    Returns:
        Spaces to indent JSON with, or None for compact JSON.
    """
    if not accept:
        return None
    for media_range in accept.split(","):
        media_type, *params = media_range.split(";")
        if media_type.strip().lower() not in ("application/json", "application/*", "*/*"):
            continue
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "indent":
                try:
                    indent = int(value.strip().strip('"'))
                except ValueError:
                    return None
                return min(indent, 8) if indent > 0 else None
    return None


# ---------------------------------------------------------------------------------------------------------- bodies


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not valid JSON")


def _check_text(value: str, where: str) -> None:
    if "\x00" in value:
        raise FieldErrors({where: [NULL_CHARACTER_MESSAGE]})
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise FieldErrors({where: ["Text must be valid Unicode (no lone surrogates)."]}) from None


def _check_strings(value: object, where: str) -> None:
    """Refuse strings a database cannot store, anywhere in a decoded JSON document (iteratively: no recursion)."""
    stack: list[tuple[object, str]] = [(value, where)]
    while stack:
        item, path = stack.pop()
        if isinstance(item, str):
            _check_text(item, path)
        elif isinstance(item, dict):
            for key, child in item.items():
                _check_text(key, path)
                stack.append((child, key if path == "body" else path))
        elif isinstance(item, list):
            stack.extend((child, path) for child in item)


def parse_json(raw: bytes) -> object:
    """Decode a JSON request body.

    Args:
        raw: the body; empty means no body.

    Returns:
        The decoded value, or None for an empty body.

    Raises:
        PayloadTooLargeError: the body is larger than :data:`MAX_BODY_BYTES`.
        MalformedRequestError: not UTF-8 JSON, ``NaN``/``Infinity``, nested too deeply or numbers too long.
        FieldErrors: a string holds a NUL character or a lone surrogate.
    """
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLargeError(f"Request body too large: at most {MAX_BODY_BYTES} bytes are accepted.")
    if not raw.strip():
        return None
    try:
        value = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except UnicodeDecodeError as exc:
        raise MalformedRequestError(f"JSON parse error - body is not UTF-8: {exc.reason}") from None
    except RecursionError:
        raise MalformedRequestError("JSON parse error - nested too deeply") from None
    except ValueError as exc:
        raise MalformedRequestError(f"JSON parse error - {exc}") from None
    _check_strings(value, "body")
    return value


def _expect_object(value: object, *, key: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        kind = "list" if isinstance(value, list) else type(value).__name__
        raise FieldErrors({key: [f"Invalid data. Expected a dictionary, but got {kind}."]})
    return value


def _parse_boolean(value: object, field: str) -> bool:
    """A JSON boolean, or one of DRF's boolean spellings (``"true"``, ``1``, ``"no"``...)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | str):
        text = str(value).strip().lower()
        if text in _BOOLEAN_TRUE:
            return True
        if text in _BOOLEAN_FALSE:
            return False
    raise FieldErrors({field: ["Must be a valid boolean."]})


def _schedule_text(schedule: Mapping[str, Any], field: str, errors: dict[str, list[str]]) -> str | None:
    value = schedule.get(field)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        errors[field] = ["Not a valid string."]
        return None
    text = str(value)
    limit = _MAX_LENGTHS.get(field)
    if limit is not None and len(text) > limit:
        errors[field] = [f"Ensure this field has no more than {limit} characters."]
        return None
    return text


def _parse_schedule(value: object, *, default_time_zone: str) -> ScheduleInput | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        kind = "list" if isinstance(value, list) else type(value).__name__
        raise InvalidScheduleError({"non_field_errors": [f"Invalid data. Expected a dictionary, but got {kind}."]})
    errors: dict[str, list[str]] = {}
    interval = value.get("interval")
    if interval is None:
        # A schedule without its type is refused, as Nautobot's serializer does (never read as "run now").
        errors["interval"] = ["This field is required."]
    elif not isinstance(interval, str):
        errors["interval"] = [f'"{interval}" is not a valid choice.']
        interval = None
    name = _schedule_text(value, "name", errors)
    crontab = _schedule_text(value, "crontab", errors)
    time_zone = _schedule_text(value, "time_zone", errors)
    reason = _schedule_text(value, "reason", errors)
    start_time: datetime | None = None
    raw_start = value.get("start_time")
    if raw_start is not None and not isinstance(raw_start, str):
        errors["start_time"] = [_DATETIME_FORMAT_MESSAGE]
    elif raw_start is not None and "time_zone" not in errors:
        try:
            start_time = parse_time(raw_start, time_zone or default_time_zone)
        except InvalidScheduleError as error:
            assert isinstance(error.errors, dict)
            for field, messages in error.errors.items():
                errors.setdefault(field, []).extend(messages)
    if errors:
        raise InvalidScheduleError(errors)
    return ScheduleInput(interval=interval, name=name, start_time=start_time, crontab=crontab, time_zone=time_zone,
                         reason=reason)


def parse_run_request(body: object, *, default_time_zone: str) -> RunRequest:
    """Read a run request: ``{"data": {...}, "commit": true, "schedule": {...}}``.

    ``data`` is passed on as sent (the service validates it against the job's variables, with Nautobot's messages);
    ``commit`` defaults to true; ``schedule.start_time`` is ISO 8601, read in ``schedule.time_zone`` or the default
    zone when it has no offset.

    Args:
        body: the decoded JSON body (None when empty).
        default_time_zone: the zone for a start time without an offset when the schedule names none.

    Raises:
        FieldErrors: the body is not an object, or ``commit`` is not a boolean.
        InvalidScheduleError: the schedule is not an object, a field has the wrong type or is too long, the time zone
            is unknown, or the start time cannot be read.
    """
    if body is None:
        body = {}
    request = _expect_object(body, key="non_field_errors")
    unknown = [key for key in request if key not in RUN_BODY_KEYS]
    if unknown:
        raise unknown_keys_error(unknown, "Unknown field", RUN_BODY_KEYS)
    commit_value = request.get("commit")
    commit = True if commit_value is None else _parse_boolean(commit_value, "commit")
    schedule = _parse_schedule(request.get("schedule"), default_time_zone=default_time_zone)
    return RunRequest(data=request.get("data"), commit=commit, schedule=schedule)


def unknown_keys_error(unknown: list[str], what: str, valid: tuple[str, ...]) -> FieldErrors:
    """The refusal of unknown keys or parameters: each named (at most :data:`MAX_NAMED_KEYS`, each cut to 40
    characters) with the valid ones, the rest counted, so a typo is never ignored and a flood never makes a huge
    answer."""
    hint = f"{what}; valid: {', '.join(valid)}." if valid else what
    errors = {(key if len(key) <= 40 else key[:40] + "..."): [hint] for key in unknown[:MAX_NAMED_KEYS]}
    if len(unknown) > MAX_NAMED_KEYS:
        errors["non_field_errors"] = [f"{len(unknown) - MAX_NAMED_KEYS:,} more unknown names not listed."]
    return FieldErrors(errors)


def parse_deny_reason(body: object) -> str | None:
    """The optional reason of a deny: ``{"reason": "..."}``, ``{"comment": "..."}`` or no body at all (given both,
    they are kept together, reason first).

    Raises:
        FieldErrors: the body is not an object, an unknown key, or the reason or comment is not a string.
    """
    parts = _decision_body(body, ("reason", "comment"))
    return "\n".join(p for p in (parts.get("reason"), parts.get("comment")) if p) or None


def parse_approve_comment(body: object) -> str | None:
    """The optional comment of an approval: ``{"comment": "..."}`` or no body at all.

    Raises:
        FieldErrors: the body is not an object, an unknown key, or the comment is not a string.
    """
    return _decision_body(body, ("comment",)).get("comment")


def _decision_body(body: object, keys: tuple[str, ...]) -> dict[str, str]:
    if body is None:
        return {}
    found: dict[str, str] = {}
    for key, value in _expect_object(body, key="non_field_errors").items():
        if key not in keys:
            raise FieldErrors({key: [f"Unknown field; expected {' or '.join(repr(k) for k in keys)}."]})
        if value is not None and not isinstance(value, str):
            raise FieldErrors({key: ["Not a valid string."]})
        if value:
            found[key] = value
    return found


# ----------------------------------------------------------------------------------------------- query and path


def parse_flag(value: str | None, field: str) -> bool:
    """A boolean query parameter (``force``, ``brief``): a real boolean, unlike Nautobot's ``force``, where any
    non-empty value (``force=false`` too) forces.

    Args:
        value: the parameter as given, or None when absent.
        field: its name, for the error.

    Returns:
        True for ``true``, ``1`` or ``yes``; False for ``false``, ``0`` or ``no``, or when absent (any letter case).

    Raises:
        FieldErrors: any other value, an empty one included.
    """
    if value is None:
        return False
    text = value.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    shown = value if len(value) <= 40 else value[:40] + "..."
    raise FieldErrors({field: [f'"{shown}" is not a valid boolean: use true, 1 or yes; or false, 0 or no.']})


def parse_page(limit: int | None, offset: int | None) -> PageRequest:
    """The slice of a listing: ``limit`` (default 50; 0 or more than 1000 means 1000, as Nautobot) and ``offset``.

    FastAPI has already checked that both are whole numbers within range.
    """
    size = DEFAULT_LIMIT if limit is None else limit
    if size == 0 or size > MAX_LIMIT:
        size = MAX_LIMIT
    return PageRequest(limit=size, offset=offset or 0)


def parse_ident(value: str, *, not_found: str) -> str:
    """An object's id, slug or name from the path.

    Args:
        value: the path segment, decoded.
        not_found: the message when it cannot name anything.

    Raises:
        NotFoundError: the text holds a NUL character or a lone surrogate, which no stored id, slug or name has.
    """
    if "\x00" in value:
        raise NotFoundError(not_found)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise NotFoundError(not_found) from None
    return value


def parse_filter(value: str | None, field: str) -> str | None:
    """A free-text filter from the query string (``?job=...``).

    Raises:
        FieldErrors: the value holds a NUL character or a lone surrogate.
    """
    if value is not None:
        _check_text(value, field)
    return value
