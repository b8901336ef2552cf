"""Approval requests (with Approve, Deny and Dry run), the approval queue, the scheduled-jobs list and results.

Pure: no client, no clock, no SQL. Must not import SQLAlchemy or storage.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.domain import approvals
from bot.domain.approvals import ApprovalState
from bot.domain.records import JobResultRecord, Page, ScheduledJobRecord
from bot.domain.schedules import IntervalType
from bot.domain.short_ids import short
from handlers import ids
from handlers.blocks import card
from handlers.blocks.base import (
    MAX_MESSAGE_BLOCKS,
    STATUS_EMOJI,
    Block,
    Message,
    clip,
    context,
    date_token,
    divider,
    escape,
    job_label,
    list_message,
    message,
    plain,
    section,
    user,
)


def _approval_buttons(record: ScheduledJobRecord, *, now: datetime, requester_name: str | None) -> Block:
    past_due = approvals.is_past_due(record.facts(), now)
    job_name = record.job.name if record.job is not None else "request"
    # Accessibility labels are plain text: the requester by name ("for @alice"), else the request's short ID.
    whose = f" for @{clip(requester_name, 30)}" if requester_name else f" {short(record.id)}"

    def label(verb: str) -> str:
        return clip(f"{verb} {job_name}", 75 - len(whose)) + whose
    approve: Block = {"type": "button", "text": plain("Approve"), "style": "primary", "value": record.id,
                      "action_id": ids.APPROVE_CONFIRMED if past_due else ids.APPROVE,
                      "accessibility_label": label("Approve")}
    if past_due:
        due = record.start_time.strftime("%Y-%m-%d %H:%M UTC")
        approve["confirm"] = {
            "title": plain("Approve a past-due job?", 100),
            "text": plain(f"{clip(card.title(record), 150)} was due {due}; that time has passed. "
                          "Approving runs it at once.", 300),
            "confirm": plain("Approve and run now", 30),
            "deny": plain("Cancel", 30),
            "style": "primary",
        }
    return {
        "type": "actions",
        "block_id": f"{ids.APPROVAL_ACTIONS_BLOCK}:{record.id}",
        "elements": [
            approve,
            {"type": "button", "text": plain("Deny"), "style": "danger", "value": record.id, "action_id": ids.DENY,
             "accessibility_label": label("Deny")},
            {"type": "button", "text": plain("Dry run"), "value": record.id, "action_id": ids.DRY_RUN,
             "accessibility_label": label("Dry run")},
        ],
    }


def _comments(record: ScheduledJobRecord) -> str:
    return "".join(f"\n>{user(vote.user_id)}: {escape(clip(vote.comment, 300))}" for vote in record.approvals
                   if vote.comment)


def _details_text(record: ScheduledJobRecord) -> str | None:
    """What the status line leaves out: who approved so far and their comments, a denial's reason, a code change."""
    if record.approval_state is ApprovalState.DENIED:
        return f">{escape(clip(record.decision_reason, 2000))}" if record.decision_reason else None
    if record.approval_state is ApprovalState.APPROVED:
        comments = _comments(record)
        return clip(comments.lstrip("\n"), 3000) if comments else None
    if card.is_decided(record):
        return None
    lines: list[str] = []
    if approvals.approval_lapsed(approval_state=ApprovalState.APPROVED, approved_version=record.approved_job_version,
                                 current_version=record.job_version):
        lines.append("🔁 " + approvals.code_changed_note(approved_version=record.approved_job_version,
                                                        current_version=record.job_version))
    if record.approvals:
        who = ", ".join(user(vote.user_id) for vote in record.approvals)
        lines.append(f"👍 Approved so far by {who} — {len(record.approvals)} of {record.min_approvers} needed"
                     + _comments(record))
    return clip("\n".join(lines), 3000) if lines else None


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
            f"{date_token(when)} — `{short(result.id)}`")
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
                    dry_run: JobResultRecord | None = None, approvers: card.Approvers | None = None,
                    last_run: JobResultRecord | None = None, requester_name: str | None = None) -> list[Block]:
    """The blocks describing one request: its status line first (and, once decided, what will happen), then who asks
    to run what, when and why; its buttons while it is pending and active, and the latest finished dry run.

    Args:
        approvers: who may approve it, mentioned while it is pending (a card in the approval channel).
        last_run: its latest run (not a dry run), shown once it ran.
        requester_name: the requester's Slack name, for the buttons' accessibility labels (else the short ID).
    """
    status = card.status_line(record, now=now)
    if card.is_decided(record):
        status += "\n" + card.outcome(record, now=now, last_run=last_run)
    elif approvers is not None and (mentioned := approvers.mentions()):
        status += f" from {mentioned}"
    description = escape(clip(record.job.description, 1000)) if record.job is not None else ""
    fields = [{"type": "mrkdwn", "text": f"*Requested by*\n{user(record.user_id)}"},
              {"type": "mrkdwn", "text": clip(f"*When*\n{card.when_text(record, now=now)}", 2000)}]
    if record.reason:
        fields.append({"type": "mrkdwn", "text": f"*Why*\n{card.reason_text(record)}"})
    variables = card.variables_text(record)
    if variables:
        fields.append({"type": "mrkdwn", "text": f"*Variables*\n{variables}"})
    facts = [f"ID `{short(record.id)}`", f"code `{approvals.short_version(_reviewed_version(record))}`",
             f"`{escape(clip(record.job.slug, 150))}`" if record.job is not None else "deleted job"]
    if record.interval is not IntervalType.IMMEDIATELY:
        facts.insert(0, f"Schedule “{escape(clip(record.name, 200))}”")
    if not record.commit:
        facts.append("runs with commit off (dry run)")
    if record.expires_at is not None and not card.is_decided(record):
        facts.append(f"expires {card.at(record.expires_at)} if still pending")
    blocks: list[Block] = [
        section(status),
        section(f"*{escape(card.title(record))}*" + (f"\n{description}" if description else "")),
        {"type": "section", "fields": fields},
        context(" · ".join(facts)),
    ]
    if dry_run is not None:
        blocks.append(section(dry_run_text(dry_run)))
    details = _details_text(record)
    if details is not None:
        blocks.append(section(details))
    if card.is_decided(record):
        return blocks
    if approvals.is_past_due(record.facts(), now):
        blocks.append(context(f"⚠️ It was due {card.at(record.start_time)}: approving runs it at once, after a "
                               "confirmation."))
    if with_buttons:
        blocks.append(_approval_buttons(record, now=now, requester_name=requester_name))
    return blocks


def build_approval_message(record: ScheduledJobRecord, *, now: datetime, dry_run: JobResultRecord | None = None,
                           approvers: card.Approvers | None = None,
                           last_run: JobResultRecord | None = None, requester_name: str | None = None) -> Message:
    """The approval card: status first, then who asks to run what, when and why, and the three buttons.

    Once decided (or cancelled, or expired) it says who did what, when and what will happen, and has no buttons.
    When the request is already past due as it is drawn, Approve carries Slack's ``confirm`` dialog. Its ``text``
    (what a phone notification shows) tells the same in plain words.

    Args:
        approvers: who may approve it, mentioned while it is pending (a card in the approval channel).
        last_run: its latest run (not a dry run), once it ran.
        requester_name: the requester's Slack name, for the buttons' accessibility labels (else the short ID).
    """
    text = card.fallback_text(record, now=now, approvers=approvers, last_run=last_run)
    return message(text, approval_blocks(record, now=now, dry_run=dry_run, approvers=approvers, last_run=last_run,
                                         requester_name=requester_name))


def build_queue(page: Page[ScheduledJobRecord], *, now: datetime) -> Message:
    """The approval queue, each request with its buttons (as many as fit in one message)."""
    per_item = 8  # at most: status, title, fields, facts, approvals so far, past due, buttons, divider
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


