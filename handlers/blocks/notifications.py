"""Direct messages and thread replies: a request decided, a run finished, its log, a dry run's result.

Pure: no client, no clock, no SQL. Must not import SQLAlchemy or storage.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime

from bot.domain import approvals, run_notices
from bot.domain.errors import InvalidScheduleError
from bot.domain.outbox import OutboxKind
from bot.domain.records import JobResultRecord, ScheduledJobRecord
from bot.domain.short_ids import short
from bot.domain.times import zone_of
from handlers.blocks import card
from handlers.blocks.approvals import duration
from handlers.blocks.base import (
    LOG_TEXT,
    MAX_MESSAGE_BLOCKS,
    STATUS_EMOJI,
    Block,
    Message,
    chunks,
    clip,
    context,
    date_token,
    escape,
    job_label,
    message,
    section,
    user,
)


def build_request_decided(
    record: ScheduledJobRecord, *, kind: OutboxKind, actor_id: str | None, now: datetime
) -> Message:
    """The direct message telling a requester what became of their request: approved (and what will happen now),
    denied (and why), expired, needing approval again, or cancelled. Its ``text`` reads alone in a notification."""
    what = card.named(record)
    comments = "".join(f"\n>{user(vote.user_id)}: {escape(clip(vote.comment, 300))}" for vote in record.approvals
                       if vote.comment)
    if kind is OutboxKind.REQUEST_APPROVED:
        said = f"✅ Your request to run {what} was approved by {user(actor_id)}. {card.outcome(record, now=now)}"
        shown = said + comments
    elif kind is OutboxKind.REQUEST_DENIED:
        said = f"⛔ Your request to run {what} was denied by {user(actor_id)}. It won't run."
        reason = f" Reason: {escape(clip(record.decision_reason, 300))}" if record.decision_reason else ""
        shown = said + (f"\n>{escape(clip(record.decision_reason, 2000))}" if record.decision_reason else "")
        said += reason
    elif kind is OutboxKind.REQUEST_EXPIRED:
        got = f" ({len(record.approvals)} of {record.min_approvers} approvals)" if record.approvals else ""
        said = shown = (f"⏱️ Your request to run {what} expired: nobody decided on it in time{got}, so it won't run. "
                        "Ask again if it is still needed.")
    elif kind is OutboxKind.APPROVAL_LAPSED:
        note = approvals.code_changed_note(approved_version=record.approved_job_version,
                                           current_version=record.job_version)
        said = shown = (f"🔁 Your request to run {what} did not run and needs approval again: {note} "
                        "The approvers were asked again.")
    else:
        said = shown = f"🚫 Your scheduled job {what} was cancelled by {user(actor_id)}. It won't run again."
    return message(said, [section(shown), context(f"ID `{short(record.id)}`")])


def build_approval_reminder(record: ScheduledJobRecord, *, users: Sequence[str], groups: Sequence[str]) -> Message:
    """A reminder that a request still waits for approval, mentioning the approvers who have not acted: users by
    mention, user groups by ``<!subteam^ID>`` when pinned to their ID, else by handle."""
    mentions = [user(u) for u in users]
    mentions += [f"<!subteam^{g}>" if not g.startswith("@") else escape(g) for g in groups]
    who = " ".join(mentions[:50]) + (" …" if len(mentions) > 50 else "")
    so_far = f" {len(record.approvals)} of {record.min_approvers} approvals so far." if record.min_approvers > 1 else ""
    expires = f" It expires {date_token(record.expires_at)}." if record.expires_at else ""
    why = f" Why: {card.reason_text(record, 300)}." if record.reason else ""
    text = (f"⏰ {who + ': ' if who else ''}{user(record.user_id)}'s request to run *{escape(card.title(record))}* "
            f"still waits for approval.{so_far}{expires}")
    fallback = (f"⏰ Reminder: {user(record.user_id)}'s request to run {escape(card.title(record))} still waits for "
                f"approval.{so_far}{expires}{why}")
    return message(fallback, [section(text), context(f"ID `{short(record.id)}` · `{escape(record.job.slug)}`"
                                                     if record.job is not None else f"ID `{short(record.id)}`")])


LOG_LINE = 500
"""Characters of one log line shown in a message; a longer line sends the whole log as a file."""
DRY_RUN_LOG_TEXT = 2600
"""Characters of log shown in a dry run's reply (it shares its message with the result)."""


def _log_lines(result: JobResultRecord) -> list[str]:
    lines = [f"{entry.logged_at:%H:%M:%S} {entry.level.upper():<8} {entry.message}" for entry in result.log]
    if result.error:
        lines.append(f"error: {result.error}")
    return lines


def log_file(result: JobResultRecord, *, limit: int = LOG_TEXT) -> tuple[str, str] | None:
    """The whole log of a run as a text file ``(file name, content)`` when it does not fit in a message (more than
    ``limit`` characters, or a line longer than 500), else None. The content is what the run recorded, unescaped
    (a file is never read as mrkdwn); a job with sensitive variables recorded no exception message, so none is in it.
    """
    lines = _log_lines(result)
    if sum(len(line) + 1 for line in lines) <= limit and all(len(line) <= LOG_LINE for line in lines):
        return None
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", result.name).strip("-.")[:60] or "run"
    return f"{stem}-{result.id[:8]}.log", "\n".join(lines) + "\n"


def _log_text(result: JobResultRecord, *, limit: int = LOG_TEXT, file_refused: str | None = None) -> str:
    lines = _log_lines(result)
    if not lines:
        return "_The job logged nothing._"
    shown: list[str] = []
    used = 0
    for line in lines:
        line = clip(line, LOG_LINE)
        if used + len(line) + 1 > limit:
            break
        shown.append(line)
        used += len(line) + 1
    text = "```" + escape("\n".join(shown)) + "```"
    if log_file(result, limit=limit) is not None:
        more = f"{len(lines) - len(shown)} more line(s); " if len(shown) < len(lines) else ""
        if file_refused is None:
            text += f"\n… {more}the whole log follows in this thread as a file."
        else:
            text += (f"\n… {more}Slack refused the whole log as a file ({escape(clip(file_refused, 100))}): "
                     "the app needs the `files:write` scope.")
    return text


def _result_summary(result: JobResultRecord) -> str:
    dry = " (dry run)" if result.dry_run else ""
    took = duration(result)
    return (f"{STATUS_EMOJI[result.status]} {job_label(result.job)}{dry}: *{result.status.label}*"
            f"{' in ' + took if took else ''}.")


OUTPUT_TEXT = 500
"""Characters of what ``run()`` returned shown in a finished run's message (the API's ``output`` has all of it)."""


def _output_section(result: JobResultRecord) -> list[Block]:
    if not result.output:
        return []
    shown = clip(result.output, OUTPUT_TEXT)
    more = ("" if shown == result.output
            else f"\n… {len(result.output):,} characters in all: the REST API's `output` has them.")
    return [section(f"Returned:\n```{escape(shown)}```{more}")]


def _due_text(instant: datetime, time_zone: str) -> str:
    """A due time as plain text for a notification, in the schedule's zone: ``2030-01-16 09:00 CET``."""
    try:
        local = instant.astimezone(zone_of(time_zone))
    except InvalidScheduleError:
        local = instant.astimezone(UTC)
    return f"{local:%Y-%m-%d %H:%M} {local.tzname() or time_zone}"


def run_title(result: JobResultRecord, scheduled_job: ScheduledJobRecord | None = None) -> tuple[str, str]:
    """Which run this was, escaped: ``(mrkdwn, plain)``, e.g. ``*Nightly backup* · ams1`` and
    ``Nightly backup · ams1``: its scheduled job's name (else its job's), and its key variable's value."""
    name = escape(clip(scheduled_job.name if scheduled_job is not None else result.name, 150))
    data = result.data if result.data is not None else (scheduled_job.data if scheduled_job is not None else None)
    key = run_notices.key_variable(result.job, data)
    suffix = f" · {escape(key[1])}" if key else ""
    dry = " (dry run)" if result.dry_run else ""
    return f"*{name}*{suffix}{dry}", f"{name}{suffix}{dry}"


def build_run_finished(result: JobResultRecord, *, scheduled_job: ScheduledJobRecord | None = None,
                       in_thread: bool = False, starts_thread: bool = False) -> Message:
    """The direct message announcing a finished run, naming which run it was (its scheduled job's name, its key
    variable, its due time), and what ``run()`` returned (its start when long); a run that did not complete leads
    with the line saying why. The log follows in its thread.

    Args:
        result: the finished run.
        scheduled_job: the scheduled job it came from, if any.
        in_thread: it is a reply in the thread of its scheduled job's earlier runs.
        starts_thread: it is the first run of a recurring scheduled job: its later runs that complete are told in
            its thread.
    """
    title, plain_title = run_title(result, scheduled_job)
    emoji = STATUS_EMOJI[result.status]
    took = duration(result)
    took_text = f" in {took}" if took else ""
    zone = scheduled_job.time_zone if scheduled_job is not None else "UTC"
    due_plain = f", due {_due_text(result.scheduled_for, zone)}" if result.scheduled_for else ""
    problem = None
    if result.status in run_notices.NEEDS_ATTENTION:
        problem = run_notices.last_error_line(error=result.error, log=result.log)
    if problem is not None:
        shown = escape(clip(problem, 500))
        text = f"{emoji} {result.status.label}: {clip(shown, 300)} — {plain_title}{due_plain}"
        lead = [section(f"{emoji} *{result.status.label}*: {shown}"),
                section(f"{title} — {job_label(result.job)}{took_text}")]
    else:
        text = f"{emoji} {plain_title}{due_plain}: {result.status.label.lower()}{took_text}"
        lead = [section(f"{emoji} {title}: *{result.status.label}*{took_text}\n{job_label(result.job)}")]
    facts = []
    if result.scheduled_for is not None:
        facts.append(f"Due {date_token(result.scheduled_for)}")
    facts.append(f"Result `{short(result.id)}`")
    facts.append(f"ran as {user(result.user_id)}")
    if result.approved_by_id:
        facts.append(f"approved by {user(result.approved_by_id)}")
    facts.append("its log follows" if in_thread else "the log is in the thread")
    blocks = [*lead, *_output_section(result), context(" · ".join(facts))]
    if starts_thread:
        blocks.append(context("The next runs of this schedule that complete are told in this thread; a run that "
                              "fails gets a message of its own."))
    return message(text, blocks)


def build_run_digest(results: Sequence[JobResultRecord]) -> Message:
    """One message telling many finished runs at once (a backlog for one channel), oldest first: each run's name,
    status and short result ID, in sections of at most 2,900 characters (a digest holds at most 100 runs)."""
    counts = Counter(result.status for result in results)
    tally = ", ".join(f"{count} {status.label.lower()}" for status, count in counts.items())
    title = f"{len(results)} runs finished: {tally}"
    lines = [f"{STATUS_EMOJI[r.status]} {run_title(r)[0]}: *{r.status.label}*"
             f"{' · due ' + date_token(r.scheduled_for) if r.scheduled_for else ''} · `{r.id[:8]}`" for r in results]
    sections = [section(chunk) for chunk in chunks(lines)][: MAX_MESSAGE_BLOCKS - 2]
    return message(title, [section(f"*{title}*"), *sections,
                           context("Folded into one message because many runs finished at once. "
                                   "`/jobs results` shows each run.")])


def build_run_log(result: JobResultRecord, *, file_refused: str | None = None) -> Message:
    """The log of a run that fits in a message (posted in the result's thread; a longer one goes as a file), or the
    start of a long one when Slack refused its file (``file_refused``: Slack's error, e.g. ``missing_scope``)."""
    return message(f"Log of {escape(clip(result.name, 200))}",
                   [section(_log_text(result, file_refused=file_refused))])


def log_file_comment(result: JobResultRecord) -> str:
    """The message a log file is shared with, in the result's thread."""
    count = len(_log_lines(result))
    return (f"Log of {escape(clip(result.name, 200))}: {count} line(s), too long for a message: "
            "the whole log is in this file.")


def build_dry_run_reply(result: JobResultRecord) -> Message:
    """A dry run's result and log, posted in an approval message's thread."""
    text = f"Dry run by {user(result.user_id)}: {result.status.label}"
    return message(text, [section(f"Dry run by {user(result.user_id)}: {_result_summary(result)}"),
                           section(_log_text(result, limit=DRY_RUN_LOG_TEXT))])
