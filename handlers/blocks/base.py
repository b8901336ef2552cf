"""Block Kit building blocks: message and view types, Slack's limits, escaping, time tokens, and the small pieces
every builder uses (sections, context, headers, job labels, schedules in words).

Pure: no client, no clock, no SQL. Must not import SQLAlchemy or storage.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from bot.domain import schedules
from bot.domain.approvals import ApprovalState
from bot.domain.permissions import OPERATOR_ID
from bot.domain.records import JobRecord, ScheduledJobRecord
from bot.domain.results import JobResultStatus
from bot.domain.schedules import IntervalType
from bot.domain.variables.files import describe_file, is_stored_file

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
STATUS_EMOJI = {
    JobResultStatus.PENDING: "⏳",
    JobResultStatus.RUNNING: "🏃",
    JobResultStatus.COMPLETED: "✅",
    JobResultStatus.FAILED: "❌",
    JobResultStatus.ERRORED: "⚠️",
    JobResultStatus.MISSED: "⏭️",
}
STATE_WORDS = {
    ApprovalState.PENDING: "awaiting approval",
    ApprovalState.APPROVED: "approved",
    ApprovalState.DENIED: "denied",
    ApprovalState.NOT_REQUIRED: "no approval needed",
    ApprovalState.EXPIRED: "expired",
}





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
    """A mention of a Slack user, "an operator" for the command line, or "someone" when unknown."""
    if user_id == OPERATOR_ID:
        return "an operator"
    return f"<@{user_id}>" if user_id else "someone"


def plain(text: str, limit: int = 75) -> dict[str, Any]:
    return {"type": "plain_text", "text": clip(text, limit) or " ", "emoji": True}


def section(text: str, *, block_id: str | None = None, accessory: Block | None = None) -> Block:
    block: Block = {"type": "section", "text": {"type": "mrkdwn", "text": clip(text, SECTION_TEXT) or " "}}
    if block_id:
        block["block_id"] = block_id[:255]
    if accessory:
        block["accessory"] = accessory
    return block


def context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": clip(text, 2000) or " "}]}


def divider() -> Block:
    return {"type": "divider"}


def header(text: str) -> Block:
    return {"type": "header", "text": plain(text, 150)}


def message(text: str, blocks: list[Block]) -> Message:
    """A message: ``text`` is its fallback (notifications, screen readers) and is read as mrkdwn like the blocks, so
    every user-typed string in it must already be escaped (:func:`escape`), as in the blocks."""
    return {"text": clip(text, 3000) or "jobgate", "blocks": blocks[:MAX_MESSAGE_BLOCKS]}


def chunks(lines: Iterable[str], *, limit: int = 2900) -> list[str]:
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


def list_message(title: str, lines: Sequence[str], *, empty: str, footer: str | None = None) -> Message:
    blocks: list[Block] = [section(f"*{title}*")]
    if not lines:
        blocks.append(section(empty))
    for chunk in chunks(lines)[: MAX_MESSAGE_BLOCKS - 2]:
        blocks.append(section(chunk))
    if footer:
        blocks.append(context(footer))
    return message(f"{title}: {len(lines)}" if lines else empty, blocks)


def job_label(job: JobRecord | None) -> str:
    """``*Name* (`slug`)`` for a job, escaped."""
    if job is None:
        return "*(deleted job)*"
    return f"*{escape(clip(job.name, 150))}* (`{escape(clip(job.slug, 150))}`)"


def data_text(data: dict[str, Any] | None) -> str:
    if not data:
        return "_none_"
    lines = []
    for key, value in data.items():
        if is_stored_file(value):  # a file is shown by its name and size, never its content
            shown = describe_file(value)
        elif isinstance(value, list):
            shown = ", ".join(str(v) for v in value)
        else:
            shown = str(value)
        lines.append(f"`{escape(clip(str(key), 80))}`: {escape(clip(shown, 200))}")
    return clip("\n".join(lines), 1900)


def next_runs(record: ScheduledJobRecord, now: datetime) -> str:
    if record.interval is IntervalType.IMMEDIATELY:
        return "As soon as it is approved" if record.approval_state is ApprovalState.PENDING else "Once, at once"
    if record.paused:
        return "Paused"
    runs = schedules.upcoming_runs(record.schedule, after=now, count=3)
    if not runs:
        return "None left"
    return ", ".join(date_token(run) for run in runs)


def schedule_words(record: ScheduledJobRecord) -> str:
    return escape(schedules.describe(record.schedule))


