"""Answers to one person: help, refusals, notices, the job list, the outcome of a run request, a decision.

Pure: no client, no clock, no SQL. Must not import SQLAlchemy or storage.
"""

from __future__ import annotations

from datetime import datetime

from bot.domain import approvals
from bot.domain.approvals import ApprovalState
from bot.domain.errors import AlreadyDecidedError, DomainError, FieldErrors, OwnRequestError, PastDueError
from bot.domain.permissions import is_usergroup_id
from bot.domain.records import JobResultRecord, ScheduledJobRecord
from bot.domain.schedules import IntervalType
from bot.domain.short_ids import short
from handlers.blocks import card
from handlers.blocks.base import (
    Message,
    clip,
    context,
    escape,
    job_label,
    message,
    next_runs,
    schedule_words,
    section,
    user,
)
from handlers.blocks.card import Approvers
from handlers.command_line import USAGE
from handlers.payloads import field_word


def build_help() -> Message:
    """The usage of ``/jobs``."""
    return message("How to use /jobs", [section("*How to use `/jobs`*"), section(USAGE),
                                         context("TIME is ISO 8601, e.g. `2030-01-01 09:00` (your Slack time zone) "
                                                  "or `2030-01-01T09:00:00Z`. Quote values with spaces.")])


def build_refusal(error: DomainError) -> Message:
    """A refusal or input error, for the user alone, worded for Slack (:func:`refusal_text`)."""
    fallback = escape(error.message)
    if isinstance(error, FieldErrors) and isinstance(error.errors, dict):
        named = [(escape(clip(field_word(k), 80)), escape(clip(" ".join(v), 500))) for k, v in error.errors.items()]
        text = "\n".join(f"• *{word}*: {said}" if word else f"• {said}" for word, said in named)
        fallback = "; ".join(f"{word}: {said}" if word else said for word, said in named)
    elif isinstance(error, FieldErrors):
        text = escape(" ".join(error.errors))
    else:  # worded for Slack (what was typed in them escaped), in the notification too
        text = fallback = refusal_text(error)
    return message(f"⚠️ {clip(fallback, 2900)}", [section(f"⚠️ {text}")])


SLACK_WORDS = {
    approvals.APPROVE_DENIED_MESSAGE: "You can't approve this request: approving it needs the approve permission on "
                                      "its job. One of its approvers can decide, or an admin can grant you it.",
    approvals.DENY_DENIED_MESSAGE: "You can't deny this request: denying it needs the approve permission on its job. "
                                   "One of its approvers can decide; its requester can withdraw it.",
    approvals.REPEAT_APPROVAL_MESSAGE: "You have already approved this request; it needs another approver too, "
                                       "and they have been asked.",
    approvals.EXPIRED_MESSAGE: "This request has expired: nobody decided on it in time, so it won't run. Its requester "
                               "can ask again if it is still needed.",
    approvals.DRY_RUN_DENIED_MESSAGE: "You can't dry-run this request: that needs the run permission on its job.",
}
"""The domain's refusals as Slack words them: to you, without blame, with what you can do next."""


def refusal_text(error: DomainError) -> str:
    """A refusal's sentence as Slack shows it (mrkdwn, escaped).

    The domain's message, except where Slack words its own: the user who already decided is a mention, and a past-due
    approval says how to confirm it here (``--force``; a button opens a confirmation instead).
    """
    if isinstance(error, AlreadyDecidedError):
        return error.describe(user=lambda user_id: user(escape(user_id)))
    if isinstance(error, OwnRequestError):
        approvers = Approvers(user_ids=error.approver_ids,
                              group_ids=tuple(g for g in error.approver_groups if is_usergroup_id(g)),
                              handles=tuple(g for g in error.approver_groups if not is_usergroup_id(g))).mentions()
        named = f": approvers are {approvers}" if approvers else ""
        return (f"You asked for this run, so someone else needs to approve it{named}. You can still withdraw it with "
                "Deny.")
    if error.message in SLACK_WORDS:
        return SLACK_WORDS[error.message]
    if isinstance(error, PastDueError):
        target = escape(short(error.scheduled_job_id))
        return (f"The start time of `{target}` has passed. To approve it and run it at once, use "
                f"`/jobs approve {target} --force`.")
    return escape(error.message)


def build_notice(text: str) -> Message:
    """A short private notice (mrkdwn; the caller escapes user text)."""
    return message(text, [section(text)])


def build_run_outcome(*, scheduled_job: ScheduledJobRecord | None, job_result: JobResultRecord | None,
                      now: datetime) -> Message:
    """What a run request became, in one line with the next step: a run started, a scheduled job, or a request sent
    to the approvers ("📨 Sent to approvers (`9dc519fe`) … You'll get a DM when they decide."). The ``text`` says
    the same without mrkdwn."""
    if job_result is not None:
        kind = "Dry run" if job_result.dry_run else "Run"
        name = escape(clip(job_result.job.name if job_result.job else job_result.name, 200))
        return message(f"▶️ {kind} of {name} started ({short(job_result.id)}); you'll get a DM when it finishes.",
                       [section(f"▶️ {kind} of {job_label(job_result.job)} started (`{short(job_result.id)}`); "
                                "you'll get a DM when it finishes.")])
    assert scheduled_job is not None
    record = scheduled_job
    name = escape(clip(record.name, 200))
    if record.approval_state is ApprovalState.PENDING:
        why = f" Why: {card.reason_text(record, 300)}." if record.reason else ""
        slug = f" (`{escape(clip(record.job.slug, 150))}`)" if record.job is not None else ""
        if record.interval is IntervalType.IMMEDIATELY:
            when = "as soon as it is approved"
        elif record.interval is IntervalType.FUTURE:
            when = card.at(record.start_time)
        else:
            when = schedule_words(record)
        what = card.named(record)
        return message(f"📨 Sent to approvers ({short(record.id)}): {what}, to run {when}.{why} You'll get a DM "
                       "when they decide.",
                       [section(f"📨 Sent to approvers (`{short(record.id)}`): *{what}*{slug}, to run {when}; it "
                                f"waits for approval.{why} You'll get a DM when they decide.")])
    after = "it runs" if record.interval in (IntervalType.IMMEDIATELY, IntervalType.FUTURE) else "each run"
    return message(f"🗓️ Scheduled ({short(record.id)}): {name}, {schedule_words(record)}. You'll get a DM after "
                   f"{after}.",
                   [section(f"🗓️ Scheduled (`{short(record.id)}`): *{name}* ({job_label(record.job)}), "
                            f"{schedule_words(record)}. Next runs: {next_runs(record, now)}. You'll get a DM after "
                            f"{after}.")])


def build_decision_notice(record: ScheduledJobRecord, *, verb: str) -> Message:
    """Tell the person who acted what they did (approved, denied, cancelled, paused, resumed)."""
    if verb == "approved" and record.approval_state is ApprovalState.PENDING:
        return build_notice(f"Done: you approved *{escape(record.name)}* ({job_label(record.job)}), "
                            f"ID `{short(record.id)}`: "
                            f"{len(record.approvals)} of {record.min_approvers} approvals so far; it waits for more.")
    return build_notice(f"Done: you {verb} *{escape(record.name)}* ({job_label(record.job)}), ID `{short(record.id)}`.")


