"""Listings a person acts on without typing an ID: ``/jobs scheduled`` with a menu (Pause / Resume / Cancel) on each
scheduled job, ``/jobs list`` in sections by grouping with a Run button on each job that can run, and the Home tab's
job picker.

Pure: no client, no clock, no SQL. Must not import SQLAlchemy or storage.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime

from bot.domain import requests
from bot.domain.management import ManageAction
from bot.domain.records import JobRecord, Page, ScheduledJobRecord
from bot.domain.short_ids import short
from handlers import ids
from handlers.blocks.base import (
    MAX_MESSAGE_BLOCKS,
    SCHEDULE_TYPE_LABELS,
    STATE_WORDS,
    Block,
    Message,
    View,
    clip,
    context,
    date_token,
    escape,
    job_label,
    message,
    plain,
    section,
    user,
)

MENU_LABELS = {ManageAction.PAUSE: "⏸️ Pause", ManageAction.RESUME: "▶️ Resume", ManageAction.CANCEL: "🚫 Cancel"}


def manage_menu(record: ScheduledJobRecord, menus: Mapping[str, Sequence[ManageAction]]) -> Block | None:
    """The overflow menu of a scheduled job: the actions ``menus`` permits the viewer (by scheduled job ID), each
    carrying ``<action>:<id>``; none when it permits none."""
    actions = menus.get(record.id, ())
    if not actions:
        return None
    return {"type": "overflow", "action_id": ids.SCHEDULED_MENU,
            "options": [{"text": plain(MENU_LABELS[action]), "value": f"{action.value}:{record.id}"}
                        for action in actions]}


def scheduled_line(record: ScheduledJobRecord) -> str:
    """One scheduled job: name, job, type, next run, requester, approval state, short ID."""
    next_run = date_token(record.next_run_at) if record.next_run_at else "—"
    paused = " · *paused*" if record.paused else ""
    return (f"*{escape(clip(record.name, 120))}* — {job_label(record.job)} — "
            f"{SCHEDULE_TYPE_LABELS[record.interval]} — next {next_run} — {user(record.user_id)} — "
            f"{STATE_WORDS[record.approval_state]}{paused} — `{short(record.id)}`")


def build_scheduled_list(page: Page[ScheduledJobRecord], *, now: datetime,
                         menus: Mapping[str, Sequence[ManageAction]], notice: str | None = None) -> Message:
    """Scheduled jobs, each with its menu of what the viewer may do (Pause / Resume / Cancel, by scheduled job ID in
    ``menus``); ``notice`` (mrkdwn, escaped) says what the last click did when the list is redrawn after it."""
    blocks: list[Block] = [section("*Scheduled jobs*")]
    if notice:
        blocks.append(context(notice))
    room = MAX_MESSAGE_BLOCKS - len(blocks) - 1
    shown = list(page.items)[:room]
    for record in shown:
        menu = manage_menu(record, menus)
        blocks.append(section(scheduled_line(record), accessory=menu))
    if not shown:
        blocks.append(section("No scheduled jobs."))
    if page.count > len(shown):
        blocks.append(context(f"Showing {len(shown)} of {page.count}."))
    text = f"Scheduled jobs: {page.count}" if page.count else "No scheduled jobs."
    return message(f"{notice_text(notice)}{text}", blocks)


def notice_text(notice: str | None) -> str:
    """A notice as the start of a message's ``text``: its mrkdwn markers dropped."""
    return (notice.replace("*", "").replace("`", "") + " ") if notice else ""


def runnable(job: JobRecord) -> bool:
    """Whether the job can be asked to run at all (enabled, installed, not both sensitive and approval-required)."""
    return requests.not_runnable_reason(job.facts()) is None


def run_button(job: JobRecord) -> Block:
    return {"type": "button", "action_id": ids.JOB_RUN, "text": plain("Run"), "value": job.id,
            "accessibility_label": clip(f"Run {job.name}", 75)}


def build_job_list(jobs: Sequence[JobRecord]) -> Message:
    """The jobs the user may see, in sections by grouping (the job module's ``name``, else the module name): name,
    slug, enabled, approval required, and a Run button on each that can run."""
    blocks: list[Block] = [section("*Jobs*")]
    room = MAX_MESSAGE_BLOCKS - len(blocks) - 1  # the footer
    shown = 0
    group: str | None = None
    for job in sorted(jobs, key=lambda j: (j.group.casefold(), j.group)):  # stable: the listing's order within
        needed = 1 if job.group == group else 2  # a new group starts with its header
        if needed > room:
            break
        if job.group != group:
            group = job.group
            blocks.append(section(f"*{escape(clip(group, 150))}*"))
        flags = ["enabled" if job.enabled else "disabled"]
        if job.approval_required:
            flags.append("needs approval")
        if job.has_sensitive_variables:
            flags.append("sensitive")
        blocks.append(section(f"{job_label(job)} — {', '.join(flags)}",
                              accessory=run_button(job) if runnable(job) else None))
        room -= needed
        shown += 1
    if not shown:
        blocks.append(section("No jobs you may see."))
    more = f"Showing {shown} of {len(jobs)}. " if len(jobs) > shown else ""
    blocks.append(context(f"{more}*Run* opens a form; `/jobs run SLUG var=value …` runs directly."))
    return message(f"Jobs: {len(jobs)}" if jobs else "No jobs you may see.", blocks)


def build_job_picker_modal(jobs: Sequence[JobRecord]) -> View:
    """The modal the Home tab's "Run a job" opens: choose one of the jobs that can run; the choice turns it into that
    job's run modal."""
    choices = [job for job in jobs if runnable(job)][:100]
    blocks: list[Block] = []
    if choices:
        select: Block = {"type": "static_select", "action_id": ids.JOB_PICK, "placeholder": plain("Choose a job…"),
                         "options": [{"text": plain(job.name), "value": job.id} for job in choices]}
        blocks.append(section("Which job do you want to run?", block_id=ids.JOB_PICK_BLOCK, accessory=select))
        if len(jobs) > len(choices) and len(choices) == 100:
            blocks.append(context("Showing the first 100 jobs; `/jobs run SLUG` opens any other."))
    else:
        blocks.append(section("There is no job you may run yet."))
    return {"type": "modal", "callback_id": ids.JOB_PICKER_MODAL, "title": plain("Run a job", 24),
            "close": plain("Cancel", 24), "private_metadata": json.dumps({}), "blocks": blocks}
