"""The facts of an approval card, each worded once: its status line, title, who/what/when/why, what will happen after
the decision, the approvers it mentions, and the ``text`` a phone notification shows alone.

Pure: no client, no clock, no SQL. Must not import SQLAlchemy or storage.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.domain import approvals, schedules
from bot.domain.approvals import ApprovalState
from bot.domain.records import EndReason, JobResultRecord, ScheduledJobRecord
from bot.domain.schedules import IntervalType
from bot.domain.variables import pretty_name
from bot.domain.variables.files import describe_file, is_stored_file
from bot.domain.variables.keys import key_value
from handlers.blocks.base import STATUS_EMOJI, clip, date_token, escape, user

MAX_MENTIONED_PEOPLE = 10
"""At most this many approvers are mentioned by name on a card; the rest are counted ("and 3 more")."""
TITLE = 150
"""The most characters of a card's title (a header block's limit)."""


@dataclass(frozen=True)
class Approvers:
    """Who may approve a request, to mention on its card in a channel (never its requester).

    Attributes:
        user_ids: Slack user IDs of the people who may approve.
        group_ids: IDs (``S…``) of the user groups whose members may approve.
        handles: handles (without ``@``) of such groups whose ID is not known: named, not mentioned.
    """

    user_ids: tuple[str, ...] = ()
    group_ids: tuple[str, ...] = ()
    handles: tuple[str, ...] = ()

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any] | None) -> Approvers | None:
        """Read them back from an outbox payload's ``approvers`` (None when it has none)."""
        if not isinstance(payload, Mapping):
            return None

        def strings(key: str) -> tuple[str, ...]:
            value = payload.get(key)
            return tuple(str(v) for v in value) if isinstance(value, list) else ()

        return cls(user_ids=strings("users"), group_ids=strings("group_ids"), handles=strings("handles"))

    def mentions(self) -> str:
        """Groups first (``<!subteam^S…>``), then up to :data:`MAX_MENTIONED_PEOPLE` people (``<@U…>``), then how
        many more; "" when there is nobody."""
        named = [f"<!subteam^{g}>" for g in self.group_ids] + [f"@{escape(clip(h, 80))}" for h in self.handles]
        people = [user(u) for u in self.user_ids]
        named += people[:MAX_MENTIONED_PEOPLE]
        more = len(people) - MAX_MENTIONED_PEOPLE
        text = ", ".join(named)
        return f"{text} and {more} more" if more > 0 else text


def ago(instant: datetime) -> str:
    """A Slack date token that each reader sees relative to their now ("2 minutes ago", "in 3 hours")."""
    return date_token(instant, "{ago}")


def at(instant: datetime) -> str:
    """A Slack date token with the day and time in the reader's zone ("today at 09:00")."""
    return date_token(instant)


def title(record: ScheduledJobRecord) -> str:
    """The card's title, plain text: the job's name and the value of its key variable, "Reboot device · core-sw-17"
    (the request's name when its job is gone). Never escaped: callers escape it for mrkdwn."""
    if record.job is None:
        return clip(record.name, TITLE)
    key = key_value(record.job.variables, record.data)
    return clip(f"{record.job.name} · {key}" if key else record.job.name, TITLE)


def named(record: ScheduledJobRecord) -> str:
    """How a requester knows their request, escaped, no mrkdwn: "Reboot device · core-sw-17", with its schedule's
    name when it has one ("… (“Nightly reboot”)")."""
    what = escape(title(record))
    if record.interval is not IntervalType.IMMEDIATELY:
        what += f" (“{escape(clip(record.name, 200))}”)"
    return what


def is_withdrawn(record: ScheduledJobRecord) -> bool:
    return (record.approval_state is ApprovalState.DENIED and record.decided_by_id is not None
            and record.decided_by_id == record.user_id)


def is_cancelled(record: ScheduledJobRecord) -> bool:
    return not record.enabled and record.end_reason is EndReason.CANCELLED


def is_decided(record: ScheduledJobRecord) -> bool:
    """Whether the card is final: approved, denied, expired or cancelled (no buttons)."""
    return record.approval_state is not ApprovalState.PENDING or not record.enabled


def _approved_by(record: ScheduledJobRecord) -> str:
    if len(record.approvals) > 1 or record.min_approvers > 1:
        who = ", ".join(user(vote.user_id) for vote in record.approvals) or user(record.decided_by_id)
        return f"{who} ({len(record.approvals)} of {record.min_approvers})"
    return user(record.decided_by_id)


def status_line(record: ScheduledJobRecord, *, now: datetime) -> str:
    """The first line of the card (mrkdwn), emoji *and* word: "⏳ *Approval needed*", "✅ *Approved* by <@bob> · 2
    minutes ago", "⛔ *Denied* by …", "⏱️ *Expired*", "⌛ *Past due*", "🚫 *Cancelled* by …"."""
    if is_cancelled(record):
        when = f" · {ago(record.ended_at)}" if record.ended_at else ""
        return f"🚫 *Cancelled* by {user(record.ended_by_id)}{when}"
    decided = f" · {ago(record.decided_at)}" if record.decided_at else ""
    if record.approval_state is ApprovalState.APPROVED:
        return f"✅ *Approved* by {_approved_by(record)}{decided}"
    if record.approval_state is ApprovalState.DENIED:
        word = "↩️ *Withdrawn*" if is_withdrawn(record) else "⛔ *Denied*"
        return f"{word} by {user(record.decided_by_id)}{decided}"
    if record.approval_state is ApprovalState.EXPIRED:
        expired = f" · {ago(record.expires_at)}" if record.expires_at else ""
        return f"⏱️ *Expired*{expired}: nobody decided in time"
    if record.approval_state is ApprovalState.NOT_REQUIRED:
        return "☑️ *No approval needed*"
    progress = f" · {len(record.approvals)} of {record.min_approvers} approvals" if record.min_approvers > 1 else ""
    if approvals.is_past_due(record.facts(), now):
        return f"⌛ *Past due* · approval needed{progress}"
    return f"⏳ *Approval needed*{progress}"


def _last_run_words(run: JobResultRecord) -> str:
    when = run.completed_at or run.started_at or run.created_at
    return f"Ran {at(when)} · {STATUS_EMOJI[run.status]} {run.status.label}"


def outcome(record: ScheduledJobRecord, *, now: datetime, last_run: JobResultRecord | None = None) -> str:
    """What will actually happen, once decided (mrkdwn): "Runs today at 09:00", "Ran today at 07:42 · ✅ Completed",
    "Won't run"; "" while pending."""
    if record.approval_state is ApprovalState.PENDING and record.enabled:
        return ""
    if record.approval_state is not ApprovalState.APPROVED and record.approval_state is not ApprovalState.NOT_REQUIRED:
        return "Won't run."
    ran = _last_run_words(last_run) if last_run is not None and not last_run.dry_run else (
        f"Ran {at(record.last_run_at)}" if record.last_run_at else "")
    if not record.enabled:
        if is_cancelled(record):
            return f"{ran}; won't run again." if ran else "Won't run."
        return ran + "." if ran else "Won't run."
    if record.paused:
        return f"{ran} · paused." if ran else "Paused: won't run until resumed."
    upcoming = [record.next_run_at] if record.next_run_at else []
    if record.interval not in (IntervalType.IMMEDIATELY, IntervalType.FUTURE):
        upcoming = schedules.upcoming_runs(record.schedule, after=now, count=2) or upcoming
    if not upcoming:
        return ran + "." if ran else "Won't run."
    nxt = "Runs now" if upcoming[0] <= now else "Runs " + ", then ".join(at(run) for run in upcoming)
    return f"{ran} · {nxt[0].lower()}{nxt[1:]}." if ran else f"{nxt}."


def when_text(record: ScheduledJobRecord, *, now: datetime) -> str:
    """When it is asked to run (mrkdwn): relative and absolute in the reader's zone for a one-off; the repeat rule in
    words (in the schedule's zone, which it is about) and the next due times for a recurring one."""
    if record.interval is IntervalType.IMMEDIATELY:
        return "As soon as it is approved"
    if record.interval is IntervalType.FUTURE:
        return f"{at(record.start_time)} ({ago(record.start_time)})"
    rule = escape(schedules.describe(record.schedule))
    if record.paused:
        return f"{rule}\nPaused"
    runs = schedules.upcoming_runs(record.schedule, after=now, count=3)
    return f"{rule}\nNext: {', '.join(at(run) for run in runs)}" if runs else f"{rule}\nNo runs left"


def _value_text(spec: Mapping[str, Any], value: object) -> str:
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if is_stored_file(value):  # a file is shown by its name and size, never its content
        return describe_file(value)
    labels = {str(v): str(label) for v, label in spec.get("choices") or [] if v is not None}
    if isinstance(value, list):
        return ", ".join(labels.get(str(v), str(v)) for v in value) or "—"
    if value is None or value == "":
        return "—"
    return labels.get(str(value), str(value))


def variables_text(record: ScheduledJobRecord) -> str:
    """The request's variables as the run modal labels them, one per line, Yes/No for switches and choice labels
    for choices (mrkdwn, escaped); "" when there are none to show (none, or a job with sensitive variables)."""
    if not record.data:
        return ""
    specs: Mapping[str, Any] = record.job.variables if record.job is not None else {}
    lines = []
    for name, value in record.data.items():
        spec = specs.get(name) or {}
        label = str(spec.get("label") or pretty_name(str(name)))
        lines.append(f"{escape(clip(label, 80))}: {escape(clip(_value_text(spec, value), 200))}")
    return clip("\n".join(lines), 1900)


def reason_text(record: ScheduledJobRecord, limit: int = 1000) -> str:
    """The requester's reason, escaped; "" when none was given."""
    return escape(clip(record.reason, limit)) if record.reason else ""


def fallback_text(record: ScheduledJobRecord, *, now: datetime, approvers: Approvers | None = None,
                  last_run: JobResultRecord | None = None) -> str:
    """The message's ``text``, read alone in a phone notification: the state, who asks whom for what, when, why,
    and what happened, in plain words (user text escaped, no mrkdwn markers)."""
    what = escape(title(record))
    who = user(record.user_id)
    why = f" Why: {reason_text(record, 300)}." if record.reason else ""
    if not is_decided(record):
        if approvals.is_past_due(record.facts(), now):
            head = f"⌛ Past due, approval needed: {who} asks to run {what}, due {at(record.start_time)}; approving "
            head += "runs it at once."
        elif record.interval is IntervalType.IMMEDIATELY:
            head = f"⏳ Approval needed: {who} asks to run {what} now."
        elif record.interval is IntervalType.FUTURE:
            head = f"⏳ Approval needed: {who} asks to run {what} {at(record.start_time)}."
        else:
            head = f"⏳ Approval needed: {who} asks to run {what} {escape(schedules.describe(record.schedule))}."
        if record.min_approvers > 1:
            head += f" {len(record.approvals)} of {record.min_approvers} approvals so far."
        mentioned = approvers.mentions() if approvers is not None else ""
        return head + why + (f" Approvers: {mentioned}." if mentioned else "")
    status = _plain_status(record)
    result = outcome(record, now=now, last_run=last_run)
    denied = (f" Reason: {escape(clip(record.decision_reason, 300))}"
              if record.approval_state is ApprovalState.DENIED and record.decision_reason else "")
    return f"{status}: {what} for {who}. {result}{denied}"


def _plain_status(record: ScheduledJobRecord) -> str:
    if is_cancelled(record):
        return f"🚫 Cancelled by {user(record.ended_by_id)}"
    if record.approval_state is ApprovalState.APPROVED:
        return f"✅ Approved by {_approved_by(record)}"
    if record.approval_state is ApprovalState.DENIED:
        return f"{'↩️ Withdrawn' if is_withdrawn(record) else '⛔ Denied'} by {user(record.decided_by_id)}"
    if record.approval_state is ApprovalState.EXPIRED:
        return "⏱️ Expired, nobody decided in time"
    return "☑️ No approval needed"
