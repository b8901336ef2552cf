"""The ``/jobs`` command line: its text parsed into a typed command (``parse_command``), and the usage shown for it.

Pure: no Web API calls, no clock, no SQL. A malformed command raises :class:`~handlers.payloads.InputError` with a
sentence for the Slack user. Must not import SQLAlchemy or storage.
"""

from __future__ import annotations

import html
import re
import shlex
from dataclasses import dataclass, field

from bot.domain import times
from bot.domain.schedules import IntervalType
from handlers.payloads import InputError, parse_scheduled_job_ref

MAX_COMMAND_TEXT = 3000
"""Longest ``/jobs`` text accepted (Slack allows more; nothing legitimate needs it)."""

USAGE = (
    "`/jobs list` · `/jobs run JOB` (opens a form) · "
    '`/jobs run JOB var=value … [--now | --at TIME | --every hourly|daily|weekly --start TIME | --cron "EXPR"] '
    "[--name NAME] [--reason \"WHY\"] [--dry-run]` · `/jobs queue` · `/jobs scheduled` · `/jobs results [JOB]` · "
    "`/jobs approve ID [--force] [comment]` · `/jobs deny ID [reason]` · `/jobs dry-run ID` · "
    "`/jobs cancel ID` · `/jobs pause ID` · `/jobs resume ID`"
)

_SMART_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "‘": "'", "’": "'"})
_VARIABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SCHEDULE_FLAGS = ("--now", "--at", "--every", "--cron")
_VALUE_FLAGS = frozenset({"--at", "--every", "--cron", "--start", "--name", "--reason"})
_SWITCHES = frozenset({"--now", "--dry-run", "--force"})
_EVERY = {"hourly": IntervalType.HOURLY, "daily": IntervalType.DAILY, "weekly": IntervalType.WEEKLY}





@dataclass(frozen=True, kw_only=True)
class RunArgs:
    """``/jobs run JOB …`` as typed: the job, its data as strings, and the schedule with times still as text.

    Attributes:
        job: the job's slug, name or UUID as typed.
        data: ``var=value`` pairs.
        interval: the schedule type; None means "now" (``IMMEDIATELY`` only with ``--now --cron``, to be refused).
        at: the ``--at`` / ``--start`` time as typed (read in the user's zone when it has no offset).
        crontab: the ``--cron`` expression.
        name: the schedule's name (``--name``), or None to let jobgate name it.
        reason: why the run is asked for (``--reason``), shown to the approvers, or None.
        dry_run: ``--dry-run``.
        opens_modal: nothing but the job was given: open the run modal.
    """

    job: str
    data: dict[str, str] = field(default_factory=dict)
    interval: IntervalType | None = None
    at: str | None = None
    crontab: str | None = None
    name: str | None = None
    reason: str | None = None
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
        comment: the approval's comment (approve).
        run: the run arguments (``run``).
    """

    name: str
    target: str | None = None
    force: bool = False
    reason: str | None = None
    comment: str | None = None
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
    target = parse_scheduled_job_ref(args[0])
    rest = args[1:]
    if name == "approve":
        words = [a for a in rest if a != "--force"]
        unknown = [a for a in words if a.startswith("--")]
        if unknown:
            raise InputError(f"`/jobs approve ID` knows only `--force`, not `{unknown[0][:40]}`; "
                             "the rest is a comment: `/jobs approve ID [--force] [comment]`.")
        return Command(name=name, target=target, force="--force" in rest, comment=" ".join(words) or None)
    if name == "deny":
        return Command(name=name, target=target, reason=" ".join(rest) or None)
    _no_more(f"{name} ID", rest)
    return Command(name=name, target=target)


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
    # `--cron` beside one other schedule flag reaches the schedule rules, which say a crontab is for custom only.
    if len([f for f in chosen if f != "--cron"]) > 1:
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
    elif "--now" in flags and "--cron" in flags:
        interval = IntervalType.IMMEDIATELY
    elif "--cron" in flags:
        interval = IntervalType.CUSTOM
    if "--cron" in flags:
        crontab = flags["--cron"]
    if dry_run and interval is not None:
        raise InputError("A dry run runs at once: `--dry-run` cannot be combined with `--at`, `--every` or `--cron`.")
    if at is not None:
        times.parse_time(at, "UTC")  # the format alone; the zone is applied once the user's zone is known
    name = flags.get("--name")
    if name is not None and len(name) > 255:
        raise InputError(f"`--name` is {len(name)} characters long; the most is 255.")
    return RunArgs(job=job, data=data, interval=interval, at=at, crontab=crontab, name=name,
                   reason=flags.get("--reason"), dry_run=dry_run)
