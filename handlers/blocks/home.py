"""The App Home tab: the user's requests, what waits for their approval, upcoming runs and recent results.

Pure: no client, no clock, no SQL. Must not import SQLAlchemy or storage.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from bot.domain.management import ManageAction
from bot.domain.records import JobResultRecord, Page, ScheduledJobRecord
from bot.domain.short_ids import short
from handlers import ids
from handlers.blocks.approvals import approval_blocks, result_line
from handlers.blocks.base import (
    MAX_VIEW_BLOCKS,
    STATE_WORDS,
    Block,
    View,
    chunks,
    clip,
    context,
    date_token,
    divider,
    escape,
    header,
    job_label,
    plain,
    section,
)
from handlers.blocks.listings import manage_menu


def waited(since: datetime, now: datetime) -> str:
    """How long something has waited, in words a person reads at a glance: ``3 d 4 h``, ``2 h 5 min``, ``12 min``."""
    minutes = max(int((now - since).total_seconds() // 60), 0)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min" if minutes else "less than a minute"


def _lines_or(lines: Sequence[str], empty: str) -> list[Block]:
    return [section(chunk) for chunk in chunks(lines)[:5]] if lines else [section(empty)]


def build_home(*, my_requests: Page[ScheduledJobRecord], to_approve: Sequence[ScheduledJobRecord],
               upcoming: Page[ScheduledJobRecord], results: Page[JobResultRecord], now: datetime,
               menus: Mapping[str, Sequence[ManageAction]], notice: str | None = None) -> View:
    """The Home tab: a Run a job button, approvals waiting for me (with how long each has waited, and buttons), my
    requests with their state and a menu each of what I may do (Pause / Resume / Cancel, by scheduled job ID in
    ``menus``), upcoming runs, results. ``notice`` (mrkdwn, escaped) says what the last click did when the tab is
    redrawn after it."""
    blocks: list[Block] = [
        header("jobgate"),
        section("Run jobs now, later or on a schedule, behind an approval gate. Type `/jobs help` anywhere."),
        {"type": "actions", "block_id": "home_actions", "elements": [
            {"type": "button", "action_id": ids.HOME_RUN_JOB, "text": plain("Run a job"), "style": "primary",
             "value": "run"},
            {"type": "button", "action_id": ids.HOME_REFRESH, "text": plain("Refresh"), "value": "refresh"},
        ]},
    ]
    if notice:
        blocks.append(section(notice))
    blocks += [
        divider(),
        header(f"Waiting for your approval ({len(to_approve)})"),
    ]
    if not to_approve:
        blocks.append(section("Nothing waits for you."))
    for record in list(to_approve)[:10]:
        asked = record.asked_at
        blocks.append(context(f"⏳ Waiting for {waited(asked, now)} (asked {date_token(asked)})"))
        blocks.extend(approval_blocks(record, now=now))
    blocks.append(divider())
    blocks.append(header(f"Your requests ({my_requests.count})"))
    for r in my_requests.items:
        blocks.append(section(f"*{escape(clip(r.name, 120))}* — {job_label(r.job)} — {STATE_WORDS[r.approval_state]}"
                              f"{' · paused' if r.paused else ''} — `{short(r.id)}`", accessory=manage_menu(r, menus)))
    if not my_requests.items:
        blocks.append(section("You have no pending or active requests."))
    elif my_requests.count > len(my_requests.items):
        blocks.append(context(f"Showing {len(my_requests.items)} of {my_requests.count}; `/jobs scheduled` lists "
                              "them all."))
    blocks.append(divider())
    blocks.append(header("Upcoming runs"))
    soon = [f"• {date_token(r.next_run_at)} — *{escape(clip(r.name, 120))}* ({job_label(r.job)})"
            for r in upcoming.items if r.next_run_at is not None]
    blocks.extend(_lines_or(soon, "Nothing is scheduled."))
    blocks.append(divider())
    blocks.append(header("Recent results"))
    recent = [result_line(r) for r in results.items]
    blocks.extend(_lines_or(recent, "No results yet."))
    return {"type": "home", "blocks": blocks[:MAX_VIEW_BLOCKS]}


