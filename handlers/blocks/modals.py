"""Modals: the run modal (variables, then When: fields follow the schedule type, a crontab previewed as it is typed),
the deny-reason modal, the past-due confirmation.

Pure: no client, no clock, no SQL. Must not import SQLAlchemy or storage.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from bot.domain import requests, schedules
from bot.domain.errors import InvalidScheduleError
from bot.domain.records import JobRecord, ScheduledJobRecord
from bot.domain.schedules import IntervalType
from bot.domain.short_ids import short
from bot.domain.times import next_full_hour, zone_of
from handlers import ids
from handlers.blocks.base import (
    MAX_VIEW_BLOCKS,
    SCHEDULE_TYPE_LABELS,
    Block,
    View,
    clip,
    context,
    escape,
    job_label,
    plain,
    section,
    user,
)


def _input(block_id: str, label: str, element: Block, *, optional: bool, hint: str = "",
           dispatch: bool = False) -> Block:
    block: Block = {"type": "input", "block_id": block_id[:255], "label": plain(label, 2000), "element": element,
                    "optional": optional}
    if hint:
        block["hint"] = plain(hint, 2000)
    if dispatch:
        block["dispatch_action"] = True
    return block


def _option(value: object, label: object) -> dict[str, Any]:
    return {"text": plain(str(label)), "value": clip(str(value), 150)}


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
    elif kind == "file":  # Slack allows file_input in modals only; the bot downloads the file on submission
        element = {"type": "file_input", "action_id": ids.VARIABLE, "max_files": 1}
    elif kind == "boolean":
        element = {"type": "checkboxes", "action_id": ids.VARIABLE, "options": [_option("true", label)]}
        if default is True:
            element["initial_options"] = [_option("true", label)]
    elif kind in ("choice", "multichoice") and 1 <= len(spec.get("choices") or []) <= 100:
        options = [_option(value, text) for value, text in spec.get("choices") or []]
        multi = kind == "multichoice"
        element = {"type": "multi_static_select" if multi else "static_select", "action_id": ids.VARIABLE,
                   "options": options, "placeholder": plain("Choose…")}
        chosen = [str(v) for v in (default if isinstance(default, list) else [default]) if v is not None]
        initial = [o for o in options if o["value"] in chosen]
        if initial:
            element["initial_options" if multi else "initial_option"] = initial if multi else initial[0]
    else:  # string, text, and choices too many (or none) for a select: typed, comma-separated for several
        element = {"type": "plain_text_input", "action_id": ids.VARIABLE, "multiline": kind == "text"}
        if default not in (None, "", []):
            element["initial_value"] = clip(", ".join(map(str, default)) if isinstance(default, list)
                                            else str(default), 3000)
        if spec.get("max_length") is not None and 0 < int(spec["max_length"]) <= 3000:
            element["max_length"] = int(spec["max_length"])
    optional = kind == "boolean" or not spec.get("required", True) or default is not None
    hint = str(spec.get("description") or "")
    if element["type"] == "plain_text_input" and kind in ("choice", "multichoice"):
        hint = " ".join(filter(None, [hint, _typed_choices_hint(spec)]))
    elif kind == "file" and isinstance(spec.get("max_size"), int):
        hint = " ".join(filter(None, [hint, f"One file, at most {spec['max_size']:,} bytes."]))
    return _input(f"{ids.VARIABLE_BLOCK_PREFIX}{name}", label, element, optional=optional, hint=clip(hint, 2000))


def _typed_choices_hint(spec: dict[str, Any]) -> str:
    """Why a choice is typed rather than picked: too many choices for a select (Slack's limit: 100), or none."""
    if spec.get("choices_error"):
        return f"{spec['choices_error']} Type the value."
    count = len(spec.get("choices") or [])
    if count == 0:
        return "No choices are available now."
    return f"{count} choices, more than a menu shows: type the value (several: comma-separated)."


def allowed_schedule_types(job: JobRecord) -> list[IntervalType]:
    """The schedule types the run modal offers for this job (a job with sensitive variables only runs at once)."""
    if job.has_sensitive_variables:
        return [IntervalType.IMMEDIATELY]
    return list(IntervalType)


def schedule_type_labels(job: JobRecord) -> dict[IntervalType, str]:
    """The schedule types as the run modal names them: "As soon as approved" rather than "Immediately" for a job
    that needs approval."""
    labels = dict(SCHEDULE_TYPE_LABELS)
    if job.approval_required:
        labels[IntervalType.IMMEDIATELY] = "As soon as approved"
    return labels


def crontab_preview(crontab: str | None, *, time_zone: str, now: datetime | None) -> str:
    """What the run modal shows under the crontab as it is typed: the crontab in words (as the approval message
    says it) with its next run, or why it is not valid."""
    if not crontab or not crontab.strip() or now is None:
        return "Type a crontab to see it in words here: `*/15 * * * *` is every 15 minutes."
    try:
        words, next_run = schedules.preview_crontab(crontab, time_zone=time_zone, now=now)
    except InvalidScheduleError as error:
        problems = error.errors.get("crontab") if isinstance(error.errors, dict) else None
        return f"⚠️ {escape(clip(' '.join(problems or [error.message]), 1900))}"
    local = next_run.astimezone(zone_of(time_zone))
    return f"🗓️ {escape(words)} — next run {local:%Y-%m-%d %H:%M}"


def _when_blocks(job: JobRecord, *, interval: IntervalType, allowed: list[IntervalType], time_zone: str,
                 now: datetime | None, crontab: str | None) -> list[Block]:
    """The "When" part of the run modal: the schedule type, then only the fields it needs, in the user's zone."""
    labels = schedule_type_labels(job)
    options = [_option(kind.value, labels[kind]) for kind in allowed]
    select: Block = {"type": "static_select", "action_id": ids.SCHEDULE_TYPE, "options": options,
                     "initial_option": _option(interval.value, labels[interval])}
    blocks = [_input(ids.SCHEDULE_TYPE_BLOCK, "When", select, optional=False, dispatch=True)]
    if interval is IntervalType.IMMEDIATELY:
        return blocks
    blocks.append(context(f"🌍 Times are in {escape(time_zone)} — your Slack time zone."))
    blocks.append(_input(ids.SCHEDULE_NAME_BLOCK, "Schedule name",
                         {"type": "plain_text_input", "action_id": ids.SCHEDULE_NAME, "max_length": 255},
                         optional=True, hint=f"Left empty: \"{clip(job.name, 100)} – <start time>\"."))
    custom = interval is IntervalType.CUSTOM
    date: Block = {"type": "datepicker", "action_id": ids.START_DATE}
    time: Block = {"type": "timepicker", "action_id": ids.START_TIME}
    if now is not None and not custom:  # a custom schedule without a start begins at its next match
        start = next_full_hour(now, time_zone)
        date["initial_date"] = f"{start:%Y-%m-%d}"
        time["initial_time"] = f"{start:%H:%M}"
    blocks.append(_input(ids.START_DATE_BLOCK, "Start date", date, optional=custom,
                         hint="Left empty: from the crontab's next match." if custom else ""))
    blocks.append(_input(ids.START_TIME_BLOCK, "Start time", time, optional=custom,
                         hint=f"{time_zone} — your Slack time zone; at least 15 seconds ahead."))
    if custom:
        crontab_input = _input(ids.CRONTAB_BLOCK, "Crontab",
                               {"type": "plain_text_input", "action_id": ids.CRONTAB,
                                "placeholder": plain("*/15 * * * *", 150),
                                "dispatch_action_config": {"trigger_actions_on": ["on_enter_pressed",
                                                                                  "on_character_entered"]}},
                               optional=False, hint="5 fields: minute hour day-of-month month day-of-week.",
                               dispatch=True)
        blocks.append(crontab_input)
        preview = context(crontab_preview(crontab, time_zone=time_zone, now=now))
        preview["block_id"] = ids.CRONTAB_PREVIEW_BLOCK
        blocks.append(preview)
    return blocks


def build_run_modal(job: JobRecord, *, interval: IntervalType = IntervalType.IMMEDIATELY, time_zone: str = "UTC",
                    now: datetime | None = None, crontab: str | None = None) -> View:
    """The run modal: the job's variables first, then When: a schedule-type select and only the fields that type
    needs, its times in the user's zone (named), the start prefilled with the next full hour, and a crontab
    previewed in words as it is typed.

    The same block_id and action_id are used for an input whatever the type, so ``views.update`` keeps what was
    typed. When the job cannot run the modal says why (as Nautobot's banner) and offers no submit button.

    Args:
        job: the job.
        interval: the schedule type selected.
        time_zone: the user's Slack time zone, which the times are read in.
        now: the current instant, for the prefilled start and the crontab's next run (None: nothing prefilled).
        crontab: the crontab typed so far, to preview.
    """
    reason = requests.not_runnable_reason(job.facts())
    meta = json.dumps({"job": job.id, "job_name": clip(job.name, 200)})
    view: View = {
        "type": "modal",
        "callback_id": ids.RUN_MODAL,
        "title": plain("Run a job", 24),
        "close": plain("Cancel", 24),
        "private_metadata": meta,
        "blocks": [section(f"{job_label(job)}\n{escape(clip(job.description, 1000))}".rstrip())],
    }
    if reason is not None:
        view["blocks"].append(section(f"⛔ {escape(reason)}"))
        return view
    allowed = allowed_schedule_types(job)
    if interval not in allowed:
        interval = IntervalType.IMMEDIATELY
    blocks: list[Block] = view["blocks"]
    if job.has_sensitive_variables:
        blocks.append(context(f"ℹ️ {escape(requests.SENSITIVE_SCHEDULE_MESSAGE)}: it can only run immediately, and "
                               "its values are never stored."))
    if job.approval_required:
        blocks.append(context("🔐 This job needs approval: your request goes to the approvers first."))
    for name, spec in list(job.variables.items())[:80]:
        blocks.append(_variable_input(name, spec))
    if job.approval_required or interval is not IntervalType.IMMEDIATELY:
        blocks.append(_input(ids.REQUEST_REASON_BLOCK, "Why?",
                             {"type": "plain_text_input", "action_id": ids.REQUEST_REASON, "multiline": True,
                              "max_length": requests.MAX_REQUEST_REASON},
                             optional=True, hint="Optional: what this run is for. The approvers see it first."))
    blocks.extend(_when_blocks(job, interval=interval, allowed=allowed, time_zone=time_zone, now=now,
                               crontab=crontab))
    submit = "Run" if interval is IntervalType.IMMEDIATELY else "Schedule"
    if job.approval_required:
        submit = "Request"
    view["submit"] = plain(submit, 24)
    view["blocks"] = blocks[:MAX_VIEW_BLOCKS]
    return view


def input_block_ids(view: View) -> set[str]:
    """The block_ids of a view's input blocks (where ``response_action: errors`` may point)."""
    return {b["block_id"] for b in view.get("blocks", []) if b.get("type") == "input" and "block_id" in b}


def build_deny_modal(record: ScheduledJobRecord, *, origin: dict[str, str] | None = None) -> View:
    """Ask for an optional reason before denying a request; ``origin`` is the surface the Deny click came from, to
    redraw once it is submitted."""
    return {
        "type": "modal",
        "callback_id": ids.DENY_MODAL,
        "title": plain("Deny request", 24),
        "submit": plain("Deny", 24),
        "close": plain("Cancel", 24),
        "private_metadata": json.dumps({"scheduled_job_id": record.id, "origin": origin or {}}),
        "blocks": [
            section(f"Deny *{escape(clip(record.name, 255))}* ({job_label(record.job)}) "
                     f"requested by {user(record.user_id)}?"),
            _input(ids.DENY_REASON_BLOCK, "Reason (optional)",
                   {"type": "plain_text_input", "action_id": ids.DENY_REASON, "multiline": True, "max_length": 2000},
                   optional=True, hint="The requester sees it."),
        ],
    }


def build_past_due_modal(scheduled_job_id: str, *, origin: dict[str, str] | None = None) -> View:
    """Confirm approving a request that became past due after its message was drawn; ``origin`` is the surface the
    click came from, to redraw once it is confirmed."""
    return {
        "type": "modal",
        "callback_id": ids.PAST_DUE_MODAL,
        "title": plain("Past-due request", 24),
        "submit": plain("Approve and run", 24),
        "close": plain("Cancel", 24),
        "private_metadata": json.dumps({"scheduled_job_id": scheduled_job_id, "origin": origin or {}}),
        "blocks": [
            section("⚠️ This request's start time has passed since its message was drawn."),
            section(f"Approving it now runs it at once. Approve `{escape(short(scheduled_job_id))}` anyway?"),
        ],
    }


def build_notice_modal(title: str, text: str) -> View:
    """A modal that only says something (a refusal where there is no message to answer in)."""
    return {"type": "modal", "callback_id": ids.NOTICE_MODAL, "title": plain(title, 24),
            "close": plain("Close", 24), "blocks": [section(text)]}


