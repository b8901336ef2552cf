"""Block Kit builders: domain records in, Slack message and view dicts out. Pure: no client, no clock, no SQL.

Every ``build_*`` returns a plain dict ready for the Web API: a message (``{"text", "blocks"}``, the ``text`` being the
notification fallback, never empty) or a view. Builders keep Slack's limits themselves (50 blocks per message, 100 per
view, 3000 characters per section, 75 per button or option text, 150 per option value, 24 per modal title) by
clipping what people typed. Times are Slack ``<!date^…>`` tokens, so every reader sees their own time zone. User
text is escaped, so nobody can smuggle a mention or a link into a message. Values of jobs with sensitive variables
are never stored, so they can never reach a builder. Must not import SQLAlchemy or storage.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from bot.domain import approvals, requests, schedules
from bot.domain.approvals import ApprovalState
from bot.domain.errors import AlreadyDecidedError, DomainError, FieldErrors, PastDueError
from bot.domain.outbox import OutboxKind
from bot.domain.records import JobRecord, JobResultRecord, Page, ScheduledJobRecord
from bot.domain.results import JobResultStatus
from bot.domain.schedules import IntervalType
from handlers import ids
from handlers.payloads import USAGE

Message = dict[str, Any]
View = dict[str, Any]
Block = dict[str, Any]

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
SECTION_TEXT = 3000
LOG_TEXT = 2800
"""Characters of log shown in Slack; longer logs are trimmed with a pointer to the full log."""

SCHEDULE_TYPE_LABELS: dict[IntervalType, str] = {
    IntervalType.IMMEDIATELY: "Immediately",
    IntervalType.FUTURE: "Once in the future",
    IntervalType.HOURLY: "Hourly",
    IntervalType.DAILY: "Daily",
    IntervalType.WEEKLY: "Weekly",
    IntervalType.CUSTOM: "Recurring custom",
}
_STATUS_EMOJI = {
    JobResultStatus.PENDING: "⏳",
    JobResultStatus.RUNNING: "🏃",
    JobResultStatus.COMPLETED: "✅",
    JobResultStatus.FAILED: "❌",
    JobResultStatus.ERRORED: "⚠️",
    JobResultStatus.MISSED: "⏭️",
}
_STATE_WORDS = {
    ApprovalState.PENDING: "awaiting approval",
    ApprovalState.APPROVED: "approved",
    ApprovalState.DENIED: "denied",
    ApprovalState.NOT_REQUIRED: "no approval needed",
}


# ------------------------------------------------------------------------------------------------------- helpers


def clip(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def escape(text: str) -> str:
    """Escape ``&``, ``<`` and ``>`` as Slack's mrkdwn requires, so user text cannot form mentions or links."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def date_token(instant: datetime, fmt: str = "{date_short_pretty} at {time}") -> str:
    """A Slack date token: each reader sees ``instant`` in their own time zone (UTC text as fallback)."""
    fallback = instant.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(instant.timestamp())}^{fmt}|{fallback}>"


def user(user_id: str | None) -> str:
    """A mention of a Slack user, or "someone" when unknown."""
    return f"<@{user_id}>" if user_id else "someone"


def _plain(text: str, limit: int = 75) -> dict[str, Any]:
    return {"type": "plain_text", "text": clip(text, limit) or " ", "emoji": True}


def _section(text: str, *, block_id: str | None = None, accessory: Block | None = None) -> Block:
    block: Block = {"type": "section", "text": {"type": "mrkdwn", "text": clip(text, SECTION_TEXT) or " "}}
    if block_id:
        block["block_id"] = block_id[:255]
    if accessory:
        block["accessory"] = accessory
    return block


def _context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": clip(text, 2000) or " "}]}


def _divider() -> Block:
    return {"type": "divider"}


def _header(text: str) -> Block:
    return {"type": "header", "text": _plain(text, 150)}


def _message(text: str, blocks: list[Block]) -> Message:
    return {"text": clip(text, 3000) or "jobgate", "blocks": blocks[:MAX_MESSAGE_BLOCKS]}


def _chunks(lines: Iterable[str], *, limit: int = 2900) -> list[str]:
    """Join lines into texts of at most ``limit`` characters each (a longer line is clipped)."""
    chunks: list[str] = []
    current = ""
    for line in lines:
        line = clip(line, limit)
        if current and len(current) + 1 + len(line) > limit:
            chunks.append(current)
            current = line
        else:
            current = f"{current}\n{line}" if current else line
    if current:
        chunks.append(current)
    return chunks


def _list_message(title: str, lines: Sequence[str], *, empty: str, footer: str | None = None) -> Message:
    blocks: list[Block] = [_section(f"*{title}*")]
    if not lines:
        blocks.append(_section(empty))
    for chunk in _chunks(lines)[: MAX_MESSAGE_BLOCKS - 2]:
        blocks.append(_section(chunk))
    if footer:
        blocks.append(_context(footer))
    return _message(f"{title}: {len(lines)}" if lines else empty, blocks)


def job_label(job: JobRecord | None) -> str:
    """``*Name* (`slug`)`` for a job, escaped."""
    if job is None:
        return "*(deleted job)*"
    return f"*{escape(clip(job.name, 150))}* (`{escape(clip(job.slug, 150))}`)"


def _data_text(data: dict[str, Any] | None) -> str:
    if not data:
        return "_none_"
    lines = []
    for key, value in data.items():
        shown = ", ".join(str(v) for v in value) if isinstance(value, list) else str(value)
        lines.append(f"`{escape(clip(str(key), 80))}`: {escape(clip(shown, 200))}")
    return clip("\n".join(lines), 1900)


def _next_runs(record: ScheduledJobRecord, now: datetime) -> str:
    if record.interval is IntervalType.IMMEDIATELY:
        return "As soon as it is approved" if record.approval_state is ApprovalState.PENDING else "Once, at once"
    if record.paused:
        return "Paused"
    runs = schedules.upcoming_runs(record.schedule, after=now, count=3)
    if not runs:
        return "None left"
    return ", ".join(date_token(run) for run in runs)


def _schedule_words(record: ScheduledJobRecord) -> str:
    return escape(schedules.describe(record.schedule))


# --------------------------------------------------------------------------------------------------- answers


def build_help() -> Message:
    """The usage of ``/jobs``."""
    return _message("How to use /jobs", [_section("*How to use `/jobs`*"), _section(USAGE),
                                         _context("TIME is ISO 8601, e.g. `2030-01-01 09:00` (your Slack time zone) "
                                                  "or `2030-01-01T09:00:00Z`. Quote values with spaces.")])


def build_refusal(error: DomainError) -> Message:
    """A refusal or input error, for the user alone, worded for Slack (:func:`refusal_text`)."""
    fallback = error.message
    if isinstance(error, FieldErrors) and isinstance(error.errors, dict):
        lines = [f"• *{escape(clip(k, 80))}*: {escape(clip(' '.join(v), 500))}" for k, v in error.errors.items()]
        text = "\n".join(lines)
    elif isinstance(error, FieldErrors):
        text = escape(" ".join(error.errors))
    elif isinstance(error, AlreadyDecidedError | PastDueError):  # worded by Slack, nothing typed in them
        text = fallback = refusal_text(error)
    else:
        text = refusal_text(error)
    return _message(f"⚠️ {clip(fallback, 2900)}", [_section(f"⚠️ {text}")])


def refusal_text(error: DomainError) -> str:
    """A refusal's sentence as Slack shows it (mrkdwn, escaped).

    The domain's message, except where Slack words its own: the user who already decided is a mention, and a past-due
    approval says how to confirm it here (``--force``; a button opens a confirmation instead).
    """
    if isinstance(error, AlreadyDecidedError):
        return error.describe(user=lambda user_id: user(escape(user_id)))
    if isinstance(error, PastDueError):
        target = escape(error.scheduled_job_id)
        return (f"The start time of `{target}` has passed. To approve it and run it at once, use "
                f"`/jobs approve {target} --force`.")
    return escape(error.message)


def build_notice(text: str) -> Message:
    """A short private notice (mrkdwn; the caller escapes user text)."""
    return _message(text, [_section(text)])


def build_job_list(jobs: Sequence[JobRecord]) -> Message:
    """The jobs the user may see: name, slug, enabled, approval required."""
    lines = []
    for job in jobs:
        flags = ["enabled" if job.enabled else "disabled"]
        if job.approval_required:
            flags.append("needs approval")
        if job.has_sensitive_variables:
            flags.append("sensitive")
        lines.append(f"• {job_label(job)} — {', '.join(flags)}")
    return _list_message("Jobs", lines, empty="No jobs you may see.",
                         footer="`/jobs run SLUG` opens a form; add `var=value …` to run directly.")


def build_run_outcome(*, scheduled_job: ScheduledJobRecord | None, job_result: JobResultRecord | None,
                      now: datetime) -> Message:
    """What a run request became: a run started, a scheduled job, or a request awaiting approval."""
    if job_result is not None:
        kind = "Dry run" if job_result.dry_run else "Run"
        text = (f"▶️ {kind} of {job_label(job_result.job)} started. Result `{job_result.id}`; "
                "you will get a direct message when it finishes.")
        return build_notice(text)
    assert scheduled_job is not None
    record = scheduled_job
    if record.approval_state is ApprovalState.PENDING:
        text = (f"📨 Requested *{escape(record.name)}* ({job_label(record.job)}): {_schedule_words(record)}. "
                f"It waits for approval. ID `{record.id}`.")
    else:
        text = (f"🗓️ Scheduled *{escape(record.name)}* ({job_label(record.job)}): {_schedule_words(record)}. "
                f"Next runs: {_next_runs(record, now)}. ID `{record.id}`.")
    return build_notice(text)


def build_decision_notice(record: ScheduledJobRecord, *, verb: str) -> Message:
    """Tell the person who acted what they did (approved, denied, cancelled, paused, resumed)."""
    return build_notice(f"Done: you {verb} *{escape(record.name)}* ({job_label(record.job)}), ID `{record.id}`.")


# ----------------------------------------------------------------------------------------- approval requests


def _approval_buttons(record: ScheduledJobRecord, *, now: datetime) -> Block:
    past_due = approvals.is_past_due(record.facts(), now)
    approve: Block = {"type": "button", "text": _plain("Approve"), "style": "primary", "value": record.id,
                      "action_id": ids.APPROVE_CONFIRMED if past_due else ids.APPROVE}
    if past_due:
        approve["confirm"] = {
            "title": _plain("Approve a past-due job?", 100),
            "text": {"type": "mrkdwn", "text": clip(
                f"*{escape(record.name)}* was due {date_token(record.start_time)}; that time has passed. "
                "Approving runs it at once.", 300)},
            "confirm": _plain("Approve and run now", 30),
            "deny": _plain("Cancel", 30),
            "style": "primary",
        }
    return {
        "type": "actions",
        "block_id": f"{ids.APPROVAL_ACTIONS_BLOCK}:{record.id}",
        "elements": [
            approve,
            {"type": "button", "text": _plain("Deny"), "style": "danger", "value": record.id, "action_id": ids.DENY},
            {"type": "button", "text": _plain("Dry run"), "value": record.id, "action_id": ids.DRY_RUN},
        ],
    }


def _decision_text(record: ScheduledJobRecord) -> str | None:
    when = f" on {date_token(record.decided_at)}" if record.decided_at else ""
    if record.approval_state is ApprovalState.APPROVED:
        return f"✅ *Approved* by {user(record.decided_by_id)}{when}."
    if record.approval_state is ApprovalState.DENIED:
        withdrawn = record.decided_by_id is not None and record.decided_by_id == record.user_id
        text = f"{'↩️ *Withdrawn*' if withdrawn else '⛔ *Denied*'} by {user(record.decided_by_id)}{when}."
        if record.decision_reason:
            text += f"\n>{escape(clip(record.decision_reason, 2000))}"
        return text
    if not record.enabled:
        ended = f" on {date_token(record.ended_at)}" if record.ended_at else ""
        return f"🚫 *Cancelled* by {user(record.ended_by_id)}{ended}; nothing left to decide."
    return None


def approval_blocks(record: ScheduledJobRecord, *, now: datetime, with_buttons: bool = True) -> list[Block]:
    """The blocks describing one request; with its buttons while it is pending and active."""
    blocks: list[Block] = [
        _section(f"{user(record.user_id)} asks to run {job_label(record.job)}: *{escape(clip(record.name, 255))}*"),
        {"type": "section", "fields": [
            {"type": "mrkdwn", "text": clip(f"*Schedule*\n{_schedule_words(record)}", 2000)},
            {"type": "mrkdwn", "text": clip(f"*Next runs*\n{_next_runs(record, now)}", 2000)},
            {"type": "mrkdwn", "text": clip(f"*Data*\n{_data_text(record.data)}", 2000)},
            {"type": "mrkdwn", "text": f"*ID*\n`{record.id}`"},
        ]},
    ]
    if not record.commit:
        blocks.append(_context("This request runs with commit off (dry run)."))
    decided = _decision_text(record)
    if decided is not None:
        blocks.append(_section(decided))
        return blocks
    if approvals.is_past_due(record.facts(), now):
        blocks.append(_context(f"⚠️ The start time {date_token(record.start_time)} has passed: approving runs it at "
                               "once, after a confirmation."))
    if with_buttons:
        blocks.append(_approval_buttons(record, now=now))
    return blocks


def build_approval_message(record: ScheduledJobRecord, *, now: datetime) -> Message:
    """The approval request message: job, requester, data, schedule in words, next runs, and the three buttons.

    Once decided (or cancelled) it says who did what and when, and has no buttons. When the request is already past
    due as it is drawn, Approve carries Slack's ``confirm`` dialog.
    """
    decided = _decision_text(record)
    state = "decided" if decided else "awaiting approval"
    text = f"Approval request ({state}): {clip(record.name, 200)} by {user(record.user_id)}"
    return _message(text, approval_blocks(record, now=now))


def build_queue(page: Page[ScheduledJobRecord], *, now: datetime) -> Message:
    """The approval queue, each request with its buttons (as many as fit in one message)."""
    per_item = 6
    shown = list(page.items)[: (MAX_MESSAGE_BLOCKS - 2) // per_item]
    blocks: list[Block] = [_section(f"*Approval queue*: {page.count} request{'s' if page.count != 1 else ''} "
                                    "awaiting approval")]
    for record in shown:
        blocks.extend(approval_blocks(record, now=now))
        blocks.append(_divider())
    if page.count > len(shown):
        blocks.append(_context(f"Showing the {len(shown)} oldest of {page.count}."))
    if not shown:
        blocks.append(_section("Nothing awaits approval."))
    return _message(f"Approval queue: {page.count} awaiting approval", blocks)


def build_scheduled_list(page: Page[ScheduledJobRecord], *, now: datetime) -> Message:
    """Scheduled jobs: name, job, type, next run, requester, approval state, ID."""
    lines = []
    for record in page.items:
        next_run = date_token(record.next_run_at) if record.next_run_at else "—"
        paused = " · *paused*" if record.paused else ""
        lines.append(
            f"• *{escape(clip(record.name, 120))}* — {job_label(record.job)} — "
            f"{SCHEDULE_TYPE_LABELS[record.interval]} — next {next_run} — {user(record.user_id)} — "
            f"{_STATE_WORDS[record.approval_state]}{paused} — `{record.id}`"
        )
    footer = f"Showing {len(lines)} of {page.count}." if page.count > len(lines) else None
    return _list_message("Scheduled jobs", lines, empty="No scheduled jobs.", footer=footer)


def _duration(result: JobResultRecord) -> str:
    if result.started_at is None or result.completed_at is None:
        return ""
    seconds = max((result.completed_at - result.started_at) / timedelta(seconds=1), 0.0)
    return f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def _result_line(result: JobResultRecord) -> str:
    dry = " (dry run)" if result.dry_run else ""
    took = _duration(result)
    return (f"{_STATUS_EMOJI[result.status]} {job_label(result.job)}{dry} — {result.status.label} — "
            f"{date_token(result.created_at)}{' — ' + took if took else ''} — {user(result.user_id)} — `{result.id}`")


def build_results_list(page: Page[JobResultRecord]) -> Message:
    """Recent job results and their status."""
    lines = [_result_line(result) for result in page.items]
    footer = f"Showing {len(lines)} of {page.count}." if page.count > len(lines) else None
    return _list_message("Recent results", lines, empty="No results yet.", footer=footer)


# ------------------------------------------------------------------------------------------------------ modals


def _input(block_id: str, label: str, element: Block, *, optional: bool, hint: str = "",
           dispatch: bool = False) -> Block:
    block: Block = {"type": "input", "block_id": block_id[:255], "label": _plain(label, 2000), "element": element,
                    "optional": optional}
    if hint:
        block["hint"] = _plain(hint, 2000)
    if dispatch:
        block["dispatch_action"] = True
    return block


def _option(value: object, label: object) -> dict[str, Any]:
    return {"text": _plain(str(label)), "value": clip(str(value), 150)}


def _variable_input(name: str, spec: dict[str, Any]) -> Block:
    kind = spec.get("kind", "string")
    label = str(spec.get("label") or name)
    default = spec.get("default")
    element: Block
    if kind == "integer":
        element = {"type": "number_input", "action_id": ids.VARIABLE, "is_decimal_allowed": False}
        if default is not None:
            element["initial_value"] = str(default)
        for bound in ("min_value", "max_value"):
            if spec.get(bound) is not None:
                element[bound] = str(spec[bound])
    elif kind == "boolean":
        element = {"type": "checkboxes", "action_id": ids.VARIABLE, "options": [_option("true", label)]}
        if default is True:
            element["initial_options"] = [_option("true", label)]
    elif kind in ("choice", "multichoice") and len(spec.get("choices") or []) <= 100:
        options = [_option(value, text) for value, text in spec.get("choices") or []]
        multi = kind == "multichoice"
        element = {"type": "multi_static_select" if multi else "static_select", "action_id": ids.VARIABLE,
                   "options": options, "placeholder": _plain("Choose…")}
        chosen = [str(v) for v in (default if isinstance(default, list) else [default]) if v is not None]
        initial = [o for o in options if o["value"] in chosen]
        if initial:
            element["initial_options" if multi else "initial_option"] = initial if multi else initial[0]
    else:  # string, text, and choices too many for a select (typed, comma-separated for several)
        element = {"type": "plain_text_input", "action_id": ids.VARIABLE, "multiline": kind == "text"}
        if default not in (None, "", []):
            element["initial_value"] = clip(", ".join(map(str, default)) if isinstance(default, list)
                                            else str(default), 3000)
        if spec.get("max_length") is not None and 0 < int(spec["max_length"]) <= 3000:
            element["max_length"] = int(spec["max_length"])
    optional = kind == "boolean" or not spec.get("required", True) or default is not None
    return _input(f"{ids.VARIABLE_BLOCK_PREFIX}{name}", label, element, optional=optional,
                  hint=clip(str(spec.get("description") or ""), 2000))


def allowed_schedule_types(job: JobRecord) -> list[IntervalType]:
    """The schedule types the run modal offers for this job (a job with sensitive variables only runs at once)."""
    if job.has_sensitive_variables:
        return [IntervalType.IMMEDIATELY]
    return list(IntervalType)


def build_run_modal(job: JobRecord, *, interval: IntervalType = IntervalType.IMMEDIATELY) -> View:
    """The run modal: the job's variables, a schedule-type select, and only the fields that type needs.

    The same block_id and action_id are used for an input whatever the type, so ``views.update`` keeps what was
    typed. When the job cannot run the modal says why (as Nautobot's banner) and offers no submit button.

    Args:
        job: the job.
        interval: the schedule type selected.
    """
    reason = requests.not_runnable_reason(job.facts())
    meta = json.dumps({"job": job.id, "job_name": clip(job.name, 200)})
    view: View = {
        "type": "modal",
        "callback_id": ids.RUN_MODAL,
        "title": _plain("Run a job", 24),
        "close": _plain("Cancel", 24),
        "private_metadata": meta,
        "blocks": [_section(f"{job_label(job)}\n{escape(clip(job.description, 1000))}".rstrip())],
    }
    if reason is not None:
        view["blocks"].append(_section(f"⛔ {escape(reason)}"))
        return view
    allowed = allowed_schedule_types(job)
    if interval not in allowed:
        interval = IntervalType.IMMEDIATELY
    blocks: list[Block] = view["blocks"]
    if job.has_sensitive_variables:
        blocks.append(_context(f"ℹ️ {escape(requests.SENSITIVE_SCHEDULE_MESSAGE)}: it can only run immediately, and "
                               "its values are never stored."))
    if job.approval_required:
        blocks.append(_context("🔐 This job needs approval: your request goes to the approvers first."))
    for name, spec in list(job.variables.items())[:80]:
        blocks.append(_variable_input(name, spec))
    options = [_option(kind.value, SCHEDULE_TYPE_LABELS[kind]) for kind in allowed]
    select: Block = {"type": "static_select", "action_id": ids.SCHEDULE_TYPE, "options": options,
                     "initial_option": _option(interval.value, SCHEDULE_TYPE_LABELS[interval])}
    blocks.append(_input(ids.SCHEDULE_TYPE_BLOCK, "When", select, optional=False, dispatch=True))
    if interval is not IntervalType.IMMEDIATELY:
        blocks.append(_input(ids.SCHEDULE_NAME_BLOCK, "Schedule name",
                             {"type": "plain_text_input", "action_id": ids.SCHEDULE_NAME, "max_length": 255},
                             optional=True, hint=f"Left empty: \"{clip(job.name, 100)} – <start time>\"."))
    if interval is not IntervalType.IMMEDIATELY:
        start_optional = interval is IntervalType.CUSTOM
        blocks.append(_input(ids.START_DATE_BLOCK, "Start date", {"type": "datepicker", "action_id": ids.START_DATE},
                             optional=start_optional))
        blocks.append(_input(ids.START_TIME_BLOCK, "Start time", {"type": "timepicker", "action_id": ids.START_TIME},
                             optional=start_optional, hint="In your Slack time zone; at least 15 seconds ahead."))
    if interval is IntervalType.CUSTOM:
        blocks.append(_input(ids.CRONTAB_BLOCK, "Crontab",
                             {"type": "plain_text_input", "action_id": ids.CRONTAB,
                              "placeholder": _plain("*/15 * * * *", 150)},
                             optional=False, hint="5 fields: minute hour day-of-month month day-of-week."))
    submit = "Run" if interval is IntervalType.IMMEDIATELY else "Schedule"
    if job.approval_required:
        submit = "Request"
    view["submit"] = _plain(submit, 24)
    view["blocks"] = blocks[:MAX_VIEW_BLOCKS]
    return view


def input_block_ids(view: View) -> set[str]:
    """The block_ids of a view's input blocks (where ``response_action: errors`` may point)."""
    return {b["block_id"] for b in view.get("blocks", []) if b.get("type") == "input" and "block_id" in b}


def build_deny_modal(record: ScheduledJobRecord) -> View:
    """Ask for an optional reason before denying a request."""
    return {
        "type": "modal",
        "callback_id": ids.DENY_MODAL,
        "title": _plain("Deny request", 24),
        "submit": _plain("Deny", 24),
        "close": _plain("Cancel", 24),
        "private_metadata": json.dumps({"scheduled_job_id": record.id}),
        "blocks": [
            _section(f"Deny *{escape(clip(record.name, 255))}* ({job_label(record.job)}) "
                     f"requested by {user(record.user_id)}?"),
            _input(ids.DENY_REASON_BLOCK, "Reason (optional)",
                   {"type": "plain_text_input", "action_id": ids.DENY_REASON, "multiline": True, "max_length": 2000},
                   optional=True, hint="The requester sees it."),
        ],
    }


def build_past_due_modal(scheduled_job_id: str) -> View:
    """Confirm approving a request that became past due after its message was drawn."""
    return {
        "type": "modal",
        "callback_id": ids.PAST_DUE_MODAL,
        "title": _plain("Past-due request", 24),
        "submit": _plain("Approve and run", 24),
        "close": _plain("Cancel", 24),
        "private_metadata": json.dumps({"scheduled_job_id": scheduled_job_id}),
        "blocks": [
            _section("⚠️ This request's start time has passed since its message was drawn."),
            _section(f"Approving it now runs it at once. Approve `{scheduled_job_id}` anyway?"),
        ],
    }


def build_notice_modal(title: str, text: str) -> View:
    """A modal that only says something (a refusal where there is no message to answer in)."""
    return {"type": "modal", "callback_id": ids.NOTICE_MODAL, "title": _plain(title, 24),
            "close": _plain("Close", 24), "blocks": [_section(text)]}


# ---------------------------------------------------------------------------------------------------- App Home


def _lines_or(lines: Sequence[str], empty: str) -> list[Block]:
    return [_section(chunk) for chunk in _chunks(lines)[:5]] if lines else [_section(empty)]


def build_home(*, my_requests: Page[ScheduledJobRecord], to_approve: Sequence[ScheduledJobRecord],
               upcoming: Page[ScheduledJobRecord], results: Page[JobResultRecord], now: datetime) -> View:
    """The Home tab: my requests and their state, approvals waiting for me (with buttons), upcoming runs, results."""
    blocks: list[Block] = [
        _header("jobgate"),
        _section("Run jobs now, later or on a schedule, behind an approval gate. Type `/jobs help` anywhere.",
                 accessory={"type": "button", "action_id": ids.HOME_REFRESH, "text": _plain("Refresh"),
                            "value": "refresh"}),
        _divider(),
        _header(f"Waiting for your approval ({len(to_approve)})"),
    ]
    if not to_approve:
        blocks.append(_section("Nothing waits for you."))
    for record in list(to_approve)[:10]:
        blocks.extend(approval_blocks(record, now=now))
    blocks.append(_divider())
    blocks.append(_header(f"Your requests ({my_requests.count})"))
    mine = [f"• *{escape(clip(r.name, 120))}* — {job_label(r.job)} — {_STATE_WORDS[r.approval_state]}"
            f"{' · paused' if r.paused else ''} — `{r.id}`" for r in my_requests.items]
    blocks.extend(_lines_or(mine, "You have no pending or active requests."))
    blocks.append(_divider())
    blocks.append(_header("Upcoming runs"))
    soon = [f"• {date_token(r.next_run_at)} — *{escape(clip(r.name, 120))}* ({job_label(r.job)})"
            for r in upcoming.items if r.next_run_at is not None]
    blocks.extend(_lines_or(soon, "Nothing is scheduled."))
    blocks.append(_divider())
    blocks.append(_header("Recent results"))
    recent = [_result_line(r) for r in results.items]
    blocks.extend(_lines_or(recent, "No results yet."))
    return {"type": "home", "blocks": blocks[:MAX_VIEW_BLOCKS]}


# ------------------------------------------------------------------------------------------------ notifications


def build_request_decided(
    record: ScheduledJobRecord, *, kind: OutboxKind, actor_id: str | None, now: datetime
) -> Message:
    """The direct message telling a requester their request was approved, denied or cancelled."""
    name = f"*{escape(clip(record.name, 255))}* ({job_label(record.job)})"
    if kind is OutboxKind.REQUEST_APPROVED:
        text = f"✅ Your request {name} was approved by {user(actor_id)}. Next runs: {_next_runs(record, now)}."
    elif kind is OutboxKind.REQUEST_DENIED:
        text = f"⛔ Your request {name} was denied by {user(actor_id)}."
        if record.decision_reason:
            text += f"\n>{escape(clip(record.decision_reason, 2000))}"
    else:
        text = f"🚫 Your scheduled job {name} was cancelled by {user(actor_id)}."
    fallback = {OutboxKind.REQUEST_APPROVED: "Your request was approved",
                OutboxKind.REQUEST_DENIED: "Your request was denied"}.get(kind, "Your scheduled job was cancelled")
    return _message(f"{fallback}: {clip(record.name, 200)}", [_section(text), _context(f"ID `{record.id}`")])


def _log_text(result: JobResultRecord, *, limit: int = LOG_TEXT) -> str:
    lines = [f"{entry.logged_at:%H:%M:%S} {entry.level.upper():<8} {entry.message}" for entry in result.log]
    if result.error:
        lines.append(f"error: {result.error}")
    if not lines:
        return "_The job logged nothing._"
    shown: list[str] = []
    used = 0
    for line in lines:
        line = clip(line, 500)
        if used + len(line) + 1 > limit:
            break
        shown.append(line)
        used += len(line) + 1
    text = "```" + escape("\n".join(shown)) + "```"
    if len(shown) < len(lines):
        text += (f"\n… {len(lines) - len(shown)} more line(s) not shown. The full log: "
                 f"`GET /api/extras/job-results/{result.id}/`.")
    return text


def _result_summary(result: JobResultRecord) -> str:
    dry = " (dry run)" if result.dry_run else ""
    took = _duration(result)
    return (f"{_STATUS_EMOJI[result.status]} {job_label(result.job)}{dry}: *{result.status.label}*"
            f"{' in ' + took if took else ''}.")


def build_run_finished(result: JobResultRecord) -> Message:
    """The direct message announcing a finished run: status and duration; the log follows in its thread."""
    text = f"{result.name}{' (dry run)' if result.dry_run else ''}: {result.status.label}"
    blocks = [_section(_result_summary(result)),
              _context(f"Result `{result.id}` · ran as {user(result.user_id)}"
                       f"{' · approved by ' + user(result.approved_by_id) if result.approved_by_id else ''}"
                       " · the log is in the thread")]
    return _message(text, blocks)


def build_run_log(result: JobResultRecord) -> Message:
    """The log of a run, trimmed with a pointer to the full log when long (posted in the result's thread)."""
    return _message(f"Log of {clip(result.name, 200)}", [_section(_log_text(result))])


def build_dry_run_reply(result: JobResultRecord) -> Message:
    """A dry run's result and log, posted in an approval message's thread."""
    text = f"Dry run by {user(result.user_id)}: {result.status.label}"
    return _message(text, [_section(f"Dry run by {user(result.user_id)}: {_result_summary(result)}"),
                           _section(_log_text(result, limit=2600))])
