"""Approval requests (with Approve, Deny and Dry run), the approval queue, the scheduled-jobs list and results.

Pure: no client, no clock, no SQL. Must not import SQLAlchemy or storage.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.domain import approvals
from bot.domain.approvals import ApprovalState
from bot.domain.records import JobResultRecord, Page, ScheduledJobRecord
from bot.domain.short_ids import short
from handlers import ids
from handlers.blocks.base import (
    MAX_MESSAGE_BLOCKS,
    STATUS_EMOJI,
    Block,
    Message,
    clip,
    context,
    data_text,
    date_token,
    divider,
    escape,
    job_label,
    list_message,
    message,
    next_runs,
    plain,
    schedule_words,
    section,
    user,
)


def _approval_buttons(record: ScheduledJobRecord, *, now: datetime) -> Block:
    past_due = approvals.is_past_due(record.facts(), now)
    approve: Block = {"type": "button", "text": plain("Approve"), "style": "primary", "value": record.id,
                      "action_id": ids.APPROVE_CONFIRMED if past_due else ids.APPROVE}
    if past_due:
        approve["confirm"] = {
            "title": plain("Approve a past-due job?", 100),
            "text": {"type": "mrkdwn", "text": clip(
                f"*{escape(record.name)}* was due {date_token(record.start_time)}; that time has passed. "
                "Approving runs it at once.", 300)},
            "confirm": plain("Approve and run now", 30),
            "deny": plain("Cancel", 30),
            "style": "primary",
        }
    return {
        "type": "actions",
        "block_id": f"{ids.APPROVAL_ACTIONS_BLOCK}:{record.id}",
        "elements": [
            approve,
            {"type": "button", "text": plain("Deny"), "style": "danger", "value": record.id, "action_id": ids.DENY},
            {"type": "button", "text": plain("Dry run"), "value": record.id, "action_id": ids.DRY_RUN},
        ],
    }


def _approvers(record: ScheduledJobRecord) -> str:
    """Who approved so far, with their comments: "<@a>, <@b>"."""
    return ", ".join(user(vote.user_id) for vote in record.approvals)


def _comments(record: ScheduledJobRecord) -> str:
    return "".join(f"\n>{user(vote.user_id)}: {escape(clip(vote.comment, 300))}" for vote in record.approvals
                   if vote.comment)


def _progress_text(record: ScheduledJobRecord) -> str | None:
    """While more approvals are needed: "Approved by <@a> — 1 of 2 needed"."""
    if not record.approvals:
        return None
    return clip(f"👍 Approved by {_approvers(record)} — {len(record.approvals)} of {record.min_approvers} needed"
                + _comments(record), 3000)


def _decision_text(record: ScheduledJobRecord) -> str | None:
    when = f" on {date_token(record.decided_at)}" if record.decided_at else ""
    if record.approval_state is ApprovalState.APPROVED:
        if record.min_approvers > 1 or len(record.approvals) > 1:
            return clip(f"✅ *Approved* by {_approvers(record)} ({len(record.approvals)} of {record.min_approvers} "
                        f"needed){when}." + _comments(record), 3000)
        return clip(f"✅ *Approved* by {user(record.decided_by_id)}{when}." + _comments(record), 3000)
    if record.approval_state is ApprovalState.EXPIRED:
        expired = f" on {date_token(record.expires_at)}" if record.expires_at else ""
        return f"⌛ *Expired*{expired}: nobody decided on it in time, so it will not run."
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


def _reviewed_version(record: ScheduledJobRecord) -> str | None:
    """The code version shown for review: the one approved, else the one the request awaits approval for."""
    if record.approval_state is ApprovalState.APPROVED and record.approved_job_version:
        return record.approved_job_version
    return record.job_version or (record.job.version if record.job is not None else None)


DRY_RUN_LOG_LINES = 5
"""How many of a dry run's first log lines the approval message shows."""
DRY_RUN_LINE = 200
"""How many characters of each of those lines it shows."""
DRY_RUN_LOG_TEXT = 1500
"""The most characters those lines take in the message (escaped), well within a section's 3,000."""


def dry_run_text(result: JobResultRecord) -> str:
    """The latest finished dry run of a request: status, who ran it and when, and its first log lines (bounded)."""
    when = result.completed_at or result.created_at
    text = (f"🧪 *Latest dry run*: {STATUS_EMOJI[result.status]} {result.status.label} — by {user(result.user_id)} "
            f"{date_token(when)} — `{result.id}`")
    lines: list[str] = []
    used = 0
    for entry in result.log[:DRY_RUN_LOG_LINES]:
        first = entry.message.splitlines()[0] if entry.message.strip() else ""
        line = escape(clip(f"{entry.level.upper():<8} {first}", DRY_RUN_LINE))
        if used + len(line) + 1 > DRY_RUN_LOG_TEXT:
            break
        lines.append(line)
        used += len(line) + 1
    if lines:
        text += "\n```" + "\n".join(lines) + "```"
    elif result.error:
        text += f"\n>{escape(clip(result.error, DRY_RUN_LINE))}"
    else:
        text += "\n_The dry run logged nothing._"
    return text


def approval_blocks(record: ScheduledJobRecord, *, now: datetime, with_buttons: bool = True,
                    dry_run: JobResultRecord | None = None) -> list[Block]:
    """The blocks describing one request; with its buttons while it is pending and active, and the latest finished
    dry run when there is one."""
    blocks: list[Block] = [
        section(f"{user(record.user_id)} asks to run {job_label(record.job)}: *{escape(clip(record.name, 255))}*"),
        {"type": "section", "fields": [
            {"type": "mrkdwn", "text": clip(f"*Schedule*\n{schedule_words(record)}", 2000)},
            {"type": "mrkdwn", "text": clip(f"*Next runs*\n{next_runs(record, now)}", 2000)},
            {"type": "mrkdwn", "text": clip(f"*Data*\n{data_text(record.data)}", 2000)},
            {"type": "mrkdwn", "text": f"*ID*\n`{short(record.id)}`"},
            {"type": "mrkdwn", "text": f"*Code version*\n`{approvals.short_version(_reviewed_version(record))}`"},
        ]},
    ]
    if not record.commit:
        blocks.append(context("This request runs with commit off (dry run)."))
    if dry_run is not None:
        blocks.append(section(dry_run_text(dry_run)))
    decided = _decision_text(record)
    if decided is not None:
        blocks.append(section(decided))
        return blocks
    if record.enabled and approvals.approval_lapsed(
            approval_state=ApprovalState.APPROVED, approved_version=record.approved_job_version,
            current_version=record.job_version):
        blocks.append(section("🔁 " + approvals.code_changed_note(approved_version=record.approved_job_version,
                                                                  current_version=record.job_version)))
    progress = _progress_text(record)
    if progress is not None:
        blocks.append(section(progress))
    elif record.min_approvers > 1:
        blocks.append(context(f"Needs {record.min_approvers} approvals from different approvers."))
    if record.expires_at is not None:
        blocks.append(context(f"⌛ Expires {date_token(record.expires_at)} if it is still pending then."))
    if approvals.is_past_due(record.facts(), now):
        blocks.append(context(f"⚠️ The start time {date_token(record.start_time)} has passed: approving runs it at "
                               "once, after a confirmation."))
    if with_buttons:
        blocks.append(_approval_buttons(record, now=now))
    return blocks


def build_approval_message(record: ScheduledJobRecord, *, now: datetime,
                           dry_run: JobResultRecord | None = None) -> Message:
    """The approval request message: job, requester, data, schedule in words, next runs, and the three buttons.

    Once decided (or cancelled) it says who did what and when, and has no buttons. When the request is already past
    due as it is drawn, Approve carries Slack's ``confirm`` dialog.
    """
    decided = _decision_text(record)
    state = "decided" if decided else "awaiting approval"
    text = f"Approval request ({state}): {escape(clip(record.name, 200))} by {user(record.user_id)}"
    return message(text, approval_blocks(record, now=now, dry_run=dry_run))


def build_queue(page: Page[ScheduledJobRecord], *, now: datetime) -> Message:
    """The approval queue, each request with its buttons (as many as fit in one message)."""
    per_item = 8  # at most: request, fields, commit off, approvals so far, expiry, past due, buttons, divider
    shown = list(page.items)[: (MAX_MESSAGE_BLOCKS - 2) // per_item]
    blocks: list[Block] = [section(f"*Approval queue*: {page.count} request{'s' if page.count != 1 else ''} "
                                    "awaiting approval")]
    for record in shown:
        blocks.extend(approval_blocks(record, now=now))
        blocks.append(divider())
    if page.count > len(shown):
        blocks.append(context(f"Showing the {len(shown)} oldest of {page.count}."))
    if not shown:
        blocks.append(section("Nothing awaits approval."))
    return message(f"Approval queue: {page.count} awaiting approval", blocks)


def duration(result: JobResultRecord) -> str:
    if result.started_at is None or result.completed_at is None:
        return ""
    seconds = max((result.completed_at - result.started_at) / timedelta(seconds=1), 0.0)
    return f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def result_line(result: JobResultRecord) -> str:
    dry = " (dry run)" if result.dry_run else ""
    took = duration(result)
    return (f"{STATUS_EMOJI[result.status]} {job_label(result.job)}{dry} — {result.status.label} — "
            f"{date_token(result.created_at)}{' — ' + took if took else ''} — {user(result.user_id)} — "
            f"`{short(result.id)}`")


def build_results_list(page: Page[JobResultRecord]) -> Message:
    """Recent job results and their status."""
    lines = [result_line(result) for result in page.items]
    footer = f"Showing {len(lines)} of {page.count}." if page.count > len(lines) else None
    return list_message("Recent results", lines, empty="No results yet.", footer=footer)


