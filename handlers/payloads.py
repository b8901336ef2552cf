"""Parsers: Slack payloads (slash-command text, button clicks, modal state) into typed inputs for the services.

Everything here is pure: no Web API calls, no clock, no SQL. A malformed input raises :class:`InputError` (a
``DomainError``) whose message is a sentence for the Slack user, with the ``block_id`` of the modal input it concerns
when there is one. Must not import SQLAlchemy or storage.
"""

from __future__ import annotations

import html
import json
import re
import shlex
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.domain import times
from bot.domain.errors import DomainError, FieldErrors
from bot.domain.schedules import IntervalType
from handlers import ids

MAX_COMMAND_TEXT = 3000
"""Longest ``/jobs`` text accepted (Slack allows more; nothing legitimate needs it)."""

USAGE = (
    "`/jobs list` · `/jobs run JOB` (opens a form) · "
    '`/jobs run JOB var=value … [--now | --at TIME | --every hourly|daily|weekly --start TIME | --cron "EXPR"] '
    "[--name NAME] [--dry-run]` · `/jobs queue` · `/jobs scheduled` · `/jobs results [JOB]` · "
    "`/jobs approve ID [--force]` · `/jobs deny ID [reason]` · `/jobs dry-run ID` · "
    "`/jobs cancel ID` · `/jobs pause ID` · `/jobs resume ID`"
)

_SMART_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "‘": "'", "’": "'"})
_VARIABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SCHEDULE_FLAGS = ("--now", "--at", "--every", "--cron")
_VALUE_FLAGS = frozenset({"--at", "--every", "--cron", "--start", "--name"})
_SWITCHES = frozenset({"--now", "--dry-run", "--force"})
_EVERY = {"hourly": IntervalType.HOURLY, "daily": IntervalType.DAILY, "weekly": IntervalType.WEEKLY}


class InputError(DomainError):
    """A Slack input that cannot be understood; ``block_id`` names the modal input it concerns, if any."""

    def __init__(self, message: str, *, block_id: str | None = None) -> None:
        super().__init__(message)
        self.block_id = block_id


# ---------------------------------------------------------------------------------------------------- slash command


@dataclass(frozen=True, kw_only=True)
class RunArgs:
    """``/jobs run JOB …`` as typed: the job, its data as strings, and the schedule with times still as text.

    Attributes:
        job: the job's slug, name or UUID as typed.
        data: ``var=value`` pairs.
        interval: the schedule type; None means "now".
        at: the ``--at`` / ``--start`` time as typed (read in the user's zone when it has no offset).
        crontab: the ``--cron`` expression.
        name: the schedule's name (``--name``), or None to let jobgate name it.
        dry_run: ``--dry-run``.
        opens_modal: nothing but the job was given: open the run modal.
    """

    job: str
    data: dict[str, str] = field(default_factory=dict)
    interval: IntervalType | None = None
    at: str | None = None
    crontab: str | None = None
    name: str | None = None
    dry_run: bool = False
    opens_modal: bool = False


@dataclass(frozen=True, kw_only=True)
class Command:
    """A parsed ``/jobs`` command.

    Attributes:
        name: the subcommand (``help``, ``list``, ``run``, ``queue``, ``scheduled``, ``results``, ``approve``,
            ``deny``, ``dry-run``, ``cancel``, ``pause``, ``resume``).
        target: the scheduled job ID (approve … resume) or the job (results), if given.
        force: ``--force`` (approve).
        reason: the deny reason.
        run: the run arguments (``run``).
    """

    name: str
    target: str | None = None
    force: bool = False
    reason: str | None = None
    run: RunArgs | None = None


_ID_COMMANDS = ("approve", "deny", "dry-run", "cancel", "pause", "resume")
_SUBCOMMANDS = ("help", "list", "run", "queue", "scheduled", "results", *_ID_COMMANDS)


def parse_command(text: str) -> Command:
    """Parse the text of ``/jobs``.

    Args:
        text: what the user typed after ``/jobs`` (Slack escapes ``&``, ``<`` and ``>``).

    Returns:
        The command.

    Raises:
        InputError: unknown subcommand, unbalanced quotes, a missing or malformed argument, or too long a text.
        InvalidScheduleError: a time that is not ISO 8601 (the schedule's own message).
    """
    if len(text) > MAX_COMMAND_TEXT:
        raise InputError(
            f"That command is {len(text):,} characters long; the most `/jobs` accepts is {MAX_COMMAND_TEXT:,}."
        )
    cleaned = html.unescape(text).translate(_SMART_QUOTES).strip()
    try:
        tokens = shlex.split(cleaned)
    except ValueError:
        raise InputError('Unbalanced quotes: close every `"` you open, e.g. `--name "Nightly backup"`.') from None
    if not tokens or tokens[0].lower() in ("help", "-h", "--help"):
        return Command(name="help")
    name, args = tokens[0].lower(), tokens[1:]
    if name == "dry_run":
        name = "dry-run"
    if name not in _SUBCOMMANDS:
        shown = tokens[0] if len(tokens[0]) <= 40 else tokens[0][:40] + "…"
        raise InputError(f"`{shown}` is not a `/jobs` command. Try `/jobs help`.")
    if name in ("list", "queue", "scheduled"):
        _no_more(name, args)
        return Command(name=name)
    if name == "results":
        if len(args) > 1:
            raise InputError("`/jobs results` takes at most one job, e.g. `/jobs results maintenance.Backup`.")
        return Command(name=name, target=args[0] if args else None)
    if name == "run":
        return Command(name=name, run=_parse_run(args))
    return _parse_id_command(name, args)


def _no_more(name: str, args: list[str]) -> None:
    if args:
        raise InputError(f"`/jobs {name}` takes no arguments.")


def _parse_id_command(name: str, args: list[str]) -> Command:
    if not args:
        raise InputError(f"`/jobs {name}` needs the scheduled job's ID, e.g. `/jobs {name} 3f2c…` (see `/jobs queue`).")
    target = parse_scheduled_job_id(args[0])
    rest = args[1:]
    if name == "approve":
        extra = [a for a in rest if a != "--force"]
        if extra:
            raise InputError("`/jobs approve ID` takes only `--force`.")
        return Command(name=name, target=target, force="--force" in rest)
    if name == "deny":
        return Command(name=name, target=target, reason=" ".join(rest) or None)
    _no_more(f"{name} ID", rest)
    return Command(name=name, target=target)


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


def _split_flag(token: str) -> tuple[str, str | None]:
    if token.startswith("--") and "=" in token:
        flag, _, value = token.partition("=")
        return flag, value
    return token, None


def _parse_run(args: list[str]) -> RunArgs:
    if not args:
        raise InputError("`/jobs run` needs a job, e.g. `/jobs run maintenance.Backup` (see `/jobs list`).")
    job, rest = args[0], args[1:]
    if job.startswith("--"):
        raise InputError("`/jobs run` needs the job first, e.g. `/jobs run maintenance.Backup --now`.")
    if not rest:
        return RunArgs(job=job, opens_modal=True)
    data: dict[str, str] = {}
    flags: dict[str, str | None] = {}
    position = 0
    while position < len(rest):
        token = rest[position]
        position += 1
        if token.startswith("--"):
            flag, value = _split_flag(token)
            if flag not in _VALUE_FLAGS and flag not in _SWITCHES:
                raise InputError(f"Unknown option `{flag[:40]}`. Try `/jobs help`.")
            if flag in flags:
                raise InputError(f"`{flag}` is given twice.")
            if flag in _VALUE_FLAGS and value is None:
                if position >= len(rest):
                    raise InputError(f"`{flag}` needs a value.")
                value = rest[position]
                position += 1
            if flag in _SWITCHES and value is not None:
                raise InputError(f"`{flag}` takes no value.")
            flags[flag] = value
            continue
        key, equals, value = token.partition("=")
        if not equals or not _VARIABLE_NAME.match(key):
            shown = token if len(token) <= 40 else token[:40] + "…"
            raise InputError(f'Expected `variable=value`, got `{shown}`. Quote values with spaces: `name="a b"`.')
        if key in data:
            raise InputError(f"Variable `{key}` is given twice.")
        data[key] = value
    return _run_args(job, data, flags)


def _run_args(job: str, data: dict[str, str], flags: dict[str, str | None]) -> RunArgs:
    chosen = [f for f in _SCHEDULE_FLAGS if f in flags]
    if len(chosen) > 1:
        raise InputError(f"Choose one of `--now`, `--at`, `--every` and `--cron`, not {' and '.join(chosen)}.")
    dry_run = "--dry-run" in flags
    if "--force" in flags:
        raise InputError("`--force` belongs to `/jobs approve`.")
    interval: IntervalType | None = None
    at = flags.get("--start")
    crontab: str | None = None
    if "--start" in flags and not ({"--every", "--cron"} & flags.keys()):
        raise InputError("`--start` goes with `--every` or `--cron`; for a single run later use `--at TIME`.")
    if "--at" in flags:
        interval, at = IntervalType.FUTURE, flags["--at"]
    elif "--every" in flags:
        every = (flags["--every"] or "").lower()
        if every not in _EVERY:
            raise InputError(f"`--every` takes hourly, daily or weekly, not `{(flags['--every'] or '')[:40]}`.")
        interval = _EVERY[every]
    elif "--cron" in flags:
        interval, crontab = IntervalType.CUSTOM, flags["--cron"]
    if dry_run and interval is not None:
        raise InputError("A dry run runs at once: `--dry-run` cannot be combined with `--at`, `--every` or `--cron`.")
    if at is not None:
        times.parse_time(at, "UTC")  # the format alone; the zone is applied once the user's zone is known
    name = flags.get("--name")
    if name is not None and len(name) > 255:
        raise InputError(f"`--name` is {len(name)} characters long; the most is 255.")
    return RunArgs(job=job, data=data, interval=interval, at=at, crontab=crontab, name=name, dry_run=dry_run)


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
    """

    job_id: str
    data: dict[str, object]
    interval: IntervalType
    name: str | None = None
    start_date: str | None = None
    start_time: str | None = None
    crontab: str | None = None

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
}


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
                messages = [f"{key}: {m}" for m in messages]
            found.setdefault(block, []).extend(messages)
    else:
        found[fallback] = [error.message]
    return {block: " ".join(messages)[:2000] for block, messages in found.items()}
