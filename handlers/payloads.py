"""Parsers: Slack's interactive payloads (button clicks, modal state) into typed inputs for the services; the
``/jobs`` text itself is ``handlers/command_line.py``.

Everything here is pure: no Web API calls, no clock, no SQL. A malformed input raises :class:`InputError` (a
``DomainError``) whose message is a sentence for the Slack user, with the ``block_id`` of the modal input it concerns
when there is one. Must not import SQLAlchemy or storage.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.domain.errors import DomainError, FieldErrors
from bot.domain.management import ManageAction
from bot.domain.schedules import IntervalType
from bot.domain.short_ids import InvalidIdError, parse_id_ref
from handlers import ids


@dataclass(frozen=True)
class SlackFile:
    """A file attached in a modal's ``file_input``, not downloaded yet.

    Attributes:
        id: Slack's file ID (``F…``).
        name: its name as the submission gave it.
    """

    id: str
    name: str


class InputError(DomainError):
    """A Slack input that cannot be understood; ``block_id`` names the modal input it concerns, if any."""

    def __init__(self, message: str, *, block_id: str | None = None) -> None:
        super().__init__(message)
        self.block_id = block_id



def parse_scheduled_job_id(text: str) -> str:
    """A scheduled job ID as shown in Slack (a UUID).

    Raises:
        InputError: it is not a UUID.
    """
    candidate = text.strip().strip("`")
    try:
        return str(uuid.UUID(candidate))
    except ValueError:
        shown = candidate if len(candidate) <= 40 else candidate[:40] + "…"
        raise InputError(
            f"`{shown}` is not a scheduled job ID. IDs look like `3f2c5a0e-…`; `/jobs scheduled` and `/jobs queue` "
            "show them."
        ) from None



def parse_scheduled_job_ref(text: str) -> str:
    """A scheduled job ID as a person types it: the whole ID or a prefix of at least 6 characters (normalised);
    the service resolves it.

    Raises:
        InputError: it cannot be (the start of) an ID, or it is too short.
    """
    try:
        return parse_id_ref(text).text
    except InvalidIdError as exc:
        raise InputError(exc.message) from None


# ------------------------------------------------------------------------------------------------- interactivity


def parse_action_value(body: dict[str, Any]) -> str:
    """The scheduled job ID a button carries.

    Raises:
        InputError: the payload has no action or its value is not an ID.
    """
    actions = body.get("actions") or []
    if not actions:
        raise InputError("That click carried no action.")
    return parse_scheduled_job_id(str(actions[0].get("value") or ""))


def parse_manage_choice(body: dict[str, Any]) -> tuple[ManageAction, str]:
    """The action and scheduled job ID of the option chosen in a scheduled job's menu (``pause:<id>``).

    Raises:
        InputError: no option, or not one jobgate drew.
    """
    actions = body.get("actions") or []
    option = (actions[0].get("selected_option") if actions else None) or {}
    verb, _, scheduled_job_id = str(option.get("value") or "").partition(":")
    try:
        action = ManageAction(verb)
    except ValueError:
        raise InputError("That menu is out of date; run /jobs scheduled again.") from None
    return action, parse_scheduled_job_id(scheduled_job_id)


def parse_picked_job(body: dict[str, Any]) -> str:
    """The job ID a Run button carries, or the job chosen in the job picker.

    Raises:
        InputError: no job was given.
    """
    actions = body.get("actions") or []
    action = actions[0] if actions else {}
    value = action.get("value") or (action.get("selected_option") or {}).get("value")
    if not value:
        raise InputError("Choose a job.")
    return str(value)


def is_shared_message_click(body: dict[str, Any]) -> bool:
    """Whether a click came from a message others see too (an approval message jobgate posted, and updates in place
    once decided), rather than from an answer only the clicker sees (the queue) or the Home tab."""
    container = body.get("container") or {}
    return container.get("type") == "message" and not container.get("is_ephemeral")


def parse_selected_interval(body: dict[str, Any]) -> IntervalType:
    """The schedule type chosen in the run modal's select.

    Raises:
        InputError: no valid type was selected.
    """
    actions = body.get("actions") or []
    option = (actions[0].get("selected_option") if actions else None) or {}
    try:
        return IntervalType(option.get("value", ""))
    except ValueError:
        raise InputError("Choose a schedule type.", block_id=ids.SCHEDULE_TYPE_BLOCK) from None


def parse_private_metadata(view: dict[str, Any]) -> dict[str, Any]:
    """The JSON object jobgate stored in a view's ``private_metadata``.

    Raises:
        InputError: it is missing or not jobgate's.
    """
    try:
        value = json.loads(view.get("private_metadata") or "")
    except ValueError:
        raise InputError("This form is out of date; open it again.") from None
    if not isinstance(value, dict):
        raise InputError("This form is out of date; open it again.")
    return value


@dataclass(frozen=True, kw_only=True)
class RunModalInput:
    """What the run modal submitted.

    Attributes:
        job_id: the job's UUID.
        data: variable name → value, as the modal gives them (strings, lists, booleans; None when left empty).
        interval: the schedule type.
        name: the schedule's name, if typed.
        start_date: ``YYYY-MM-DD`` wall-clock date, if picked.
        start_time: ``HH:MM`` wall-clock time, if picked.
        crontab: the crontab, if typed.
        reason: why the run is asked for ("Why?"), if typed.
    """

    job_id: str
    data: dict[str, object]
    interval: IntervalType
    name: str | None = None
    start_date: str | None = None
    start_time: str | None = None
    crontab: str | None = None
    reason: str | None = None

    def start(self) -> datetime | None:
        """The picked start as a naive wall-clock time (read in the user's zone by the service), or None.

        Raises:
            InputError: only one of date and time was picked.
        """
        if self.start_date is None and self.start_time is None:
            return None
        if self.start_date is None:
            raise InputError("Pick a start date as well.", block_id=ids.START_DATE_BLOCK)
        if self.start_time is None:
            raise InputError("Pick a start time as well.", block_id=ids.START_TIME_BLOCK)
        return datetime.fromisoformat(f"{self.start_date}T{self.start_time}")


def view_state(view: dict[str, Any]) -> dict[str, Any]:
    """``block_id`` → the state of that block's single element, flattened to a plain value."""
    values: dict[str, Any] = {}
    for block_id, elements in ((view.get("state") or {}).get("values") or {}).items():
        for element in elements.values():
            values[block_id] = _element_value(element)
    return values


def _element_value(element: dict[str, Any]) -> object:
    kind = element.get("type")
    if kind in ("static_select", "radio_buttons"):
        option = element.get("selected_option")
        return option.get("value") if option else None
    if kind == "checkboxes":  # jobgate uses a single checkbox, for boolean variables
        return any(o.get("value") == "true" for o in element.get("selected_options") or [])
    if kind == "multi_static_select":
        return [o.get("value") for o in element.get("selected_options") or []]
    if kind == "file_input":  # files the requester attached: downloaded by the submission's handler
        return [SlackFile(id=str(f.get("id") or ""), name=str(f.get("name") or "")) for f in element.get("files") or []
                if isinstance(f, dict)]
    if kind == "datepicker":
        return element.get("selected_date")
    if kind == "timepicker":
        return element.get("selected_time")
    return element.get("value")


def parse_run_submission(view: dict[str, Any]) -> RunModalInput:
    """The run modal's submission.

    Raises:
        InputError: the form is out of date, or no schedule type is selected.
    """
    meta = parse_private_metadata(view)
    state = view_state(view)
    data: dict[str, object] = {}
    for block_id, value in state.items():
        if not block_id.startswith(ids.VARIABLE_BLOCK_PREFIX):
            continue
        data[block_id.removeprefix(ids.VARIABLE_BLOCK_PREFIX)] = value
    try:
        interval = IntervalType(str(state.get(ids.SCHEDULE_TYPE_BLOCK) or meta.get("interval") or ""))
    except ValueError:
        raise InputError("Choose a schedule type.", block_id=ids.SCHEDULE_TYPE_BLOCK) from None
    if "job" not in meta:
        raise InputError("This form is out of date; open it again.")
    return RunModalInput(
        job_id=str(meta["job"]),
        data=data,
        interval=interval,
        name=_text(state.get(ids.SCHEDULE_NAME_BLOCK)),
        start_date=_text(state.get(ids.START_DATE_BLOCK)),
        start_time=_text(state.get(ids.START_TIME_BLOCK)),
        crontab=_text(state.get(ids.CRONTAB_BLOCK)),
        reason=_text(state.get(ids.REQUEST_REASON_BLOCK)),
    )


def _text(value: object) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def parse_deny_submission(view: dict[str, Any]) -> tuple[str, str | None]:
    """The deny modal's submission: ``(scheduled job ID, reason or None)``.

    Raises:
        InputError: the form is out of date, or the reason is too long.
    """
    meta = parse_private_metadata(view)
    reason = _text(view_state(view).get(ids.DENY_REASON_BLOCK))
    if reason is not None and len(reason) > 2000:
        raise InputError(f"Keep the reason under 2,000 characters (it has {len(reason):,}).",
                         block_id=ids.DENY_REASON_BLOCK)
    return parse_scheduled_job_id(str(meta.get("scheduled_job_id", ""))), reason


def parse_confirm_submission(view: dict[str, Any]) -> str:
    """The scheduled job ID of the past-due confirmation modal."""
    return parse_scheduled_job_id(str(parse_private_metadata(view).get("scheduled_job_id", "")))


# ------------------------------------------------------------------------------------------------- error mapping

_FIELD_BLOCKS = {
    "interval": ids.SCHEDULE_TYPE_BLOCK,
    "name": ids.SCHEDULE_NAME_BLOCK,
    "start_time": ids.START_DATE_BLOCK,
    "crontab": ids.CRONTAB_BLOCK,
    "time_zone": ids.START_TIME_BLOCK,
    "reason": ids.REQUEST_REASON_BLOCK,
}


FIELD_WORDS = {
    "interval": "When",
    "name": "Schedule name",
    "start_time": "Start time",
    "crontab": "Crontab",
    "time_zone": "Time zone",
    "reason": "Why",
    "non_field_errors": "",
}
"""How Slack names the fields of a refused request (the REST API's field names are kept out of Slack's replies);
a variable keeps its own name, as typed in ``var=value``."""


def field_word(key: str) -> str:
    """The name Slack shows for a refused field (:data:`FIELD_WORDS`, else the key itself)."""
    return FIELD_WORDS.get(key, key)


def block_errors(error: DomainError, present: set[str]) -> dict[str, str]:
    """Turn a refusal into ``response_action: errors`` entries keyed by the input blocks present in the view.

    Field errors go to their field's block (a variable's to ``var:<name>``); anything else is shown on the
    schedule-type select, the one input every run modal has.

    Args:
        error: the refusal (FieldErrors, InputError or any DomainError).
        present: the block_ids of the view's input blocks.
    """
    fallback = ids.SCHEDULE_TYPE_BLOCK if ids.SCHEDULE_TYPE_BLOCK in present else next(iter(sorted(present)), "")
    found: dict[str, list[str]] = {}
    if isinstance(error, InputError):
        found.setdefault(error.block_id if error.block_id in present else fallback, []).append(error.message)
    elif isinstance(error, FieldErrors) and isinstance(error.errors, dict):
        for key, messages in error.errors.items():
            block = _FIELD_BLOCKS.get(key, f"{ids.VARIABLE_BLOCK_PREFIX}{key}")
            if block not in present:
                block = fallback
                messages = [f"{field_word(key)}: {m}" if field_word(key) else m for m in messages]
            found.setdefault(block, []).extend(messages)
    else:
        found[fallback] = [error.message]
    return {block: " ".join(messages)[:2000] for block, messages in found.items()}


# ----------------------------------------------------------------------------------------------- request shapes

_TEXT_KEYS = frozenset({
    "type", "subtype", "team_id", "user_id", "channel_id", "enterprise_id", "context_team_id",
    "context_enterprise_id", "response_url", "trigger_id", "command", "callback_id", "action_id", "block_id", "tab",
    "thread_ts", "channel_type", "bot_id", "api_app_id", "id", "event_id", "function_execution_id", "execution_id",
    "app_installed_team_id", "bot_access_token", "private_metadata", "token", "message_ts", "ts", "event_ts",
    "challenge", "hash", "root_view_id", "previous_view_id", "app_id", "external_id", "view_id", "value",
})
_OBJECT_KEYS = frozenset({
    "event", "view", "container", "message", "previous_message", "assistant_thread", "item", "function_data",
    "state", "submission", "inputs", "selected_option",
})
_ID_OR_OBJECT_KEYS = frozenset({"user", "team", "channel", "enterprise", "user_team"})
_OBJECT_LIST_KEYS = frozenset({"actions", "authorizations", "response_urls"})
_MAX_DEPTH = 6


def request_shape_problem(body: object) -> str | None:
    """Why a signed request's body is not shaped like anything Slack sends, or None when it is.

    Slack's payloads nest objects whose fields Bolt and jobgate read by name (``type``, ``user.id``,
    ``view.callback_id``, ``actions[0].action_id``, ``authorizations[0].team_id`` …): each of those fields must have
    the kind of value Slack gives it (text, an object, a list of objects), else the request is refused before it is
    dispatched. Other fields are left to the listeners, which refuse what they cannot read.
    """
    if not isinstance(body, dict):
        return "the body is not an object"
    if "command" not in body and not isinstance(body.get("type"), str) and "ssl_check" not in body:
        return "the body has no type"
    return _object_problem(body, "body", 0)


def _object_problem(node: dict[Any, Any], path: str, depth: int) -> str | None:
    if depth > _MAX_DEPTH:
        return None
    for key, value in node.items():
        if value is None and key != "event":  # Slack sends null for some (``enterprise``); Bolt reads event's
            continue
        where = f"{path}.{key}"
        if key in _TEXT_KEYS and not isinstance(value, str):
            return f"{where} is not a text"
        if key in _OBJECT_KEYS or (key in _ID_OR_OBJECT_KEYS and not isinstance(value, str)):
            if not isinstance(value, dict):
                return f"{where} is not an object"
            problem = _object_problem(value, where, depth + 1)
            if problem:
                return problem
        if key in _OBJECT_LIST_KEYS:
            if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
                return f"{where} is not a list of objects"
            for index, item in enumerate(value):
                problem = _object_problem(item, f"{where}[{index}]", depth + 1)
                if problem:
                    return problem
    return None
