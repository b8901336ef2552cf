"""Block Kit builders: domain records in, Slack message and view dicts out. Pure: no client, no clock, no SQL.

Every ``build_*`` returns a plain dict ready for the Web API: a message (``{"text", "blocks"}``, the ``text`` being the
notification fallback, never empty) or a view. Builders keep Slack's limits themselves (50 blocks per message, 100 per
view, 3000 characters per section, 75 per button or option text, 150 per option value, 24 per modal title) by
clipping what people typed. Times are Slack ``<!date^…>`` tokens, so every reader sees their own time zone. User
text is escaped, so nobody can smuggle a mention or a link into a message. Values of jobs with sensitive variables
are never stored, so they can never reach a builder. Must not import SQLAlchemy or storage.
"""

from __future__ import annotations

from handlers.blocks.answers import (
    build_decision_notice,
    build_help,
    build_job_list,
    build_notice,
    build_refusal,
    build_run_outcome,
    refusal_text,
)
from handlers.blocks.approvals import (
    approval_blocks,
    build_approval_message,
    build_queue,
    build_results_list,
    build_scheduled_list,
    duration,
    result_line,
)
from handlers.blocks.base import (
    LOG_TEXT,
    MAX_MESSAGE_BLOCKS,
    MAX_VIEW_BLOCKS,
    SCHEDULE_TYPE_LABELS,
    SECTION_TEXT,
    STATE_WORDS,
    STATUS_EMOJI,
    Block,
    Message,
    View,
    chunks,
    clip,
    context,
    data_text,
    date_token,
    divider,
    escape,
    header,
    job_label,
    list_message,
    message,
    next_runs,
    plain,
    schedule_words,
    section,
    user,
)
from handlers.blocks.home import build_home
from handlers.blocks.modals import (
    allowed_schedule_types,
    build_deny_modal,
    build_notice_modal,
    build_past_due_modal,
    build_run_modal,
    input_block_ids,
)
from handlers.blocks.notifications import (
    build_approval_reminder,
    build_dry_run_reply,
    build_request_decided,
    build_run_digest,
    build_run_finished,
    build_run_log,
)

__all__ = [
    "LOG_TEXT",
    "MAX_MESSAGE_BLOCKS",
    "MAX_VIEW_BLOCKS",
    "SCHEDULE_TYPE_LABELS",
    "SECTION_TEXT",
    "STATE_WORDS",
    "STATUS_EMOJI",
    "Block",
    "Message",
    "View",
    "allowed_schedule_types",
    "approval_blocks",
    "build_approval_message",
    "build_approval_reminder",
    "build_decision_notice",
    "build_deny_modal",
    "build_dry_run_reply",
    "build_help",
    "build_home",
    "build_job_list",
    "build_notice",
    "build_notice_modal",
    "build_past_due_modal",
    "build_queue",
    "build_refusal",
    "build_request_decided",
    "build_results_list",
    "build_run_digest",
    "build_run_finished",
    "build_run_log",
    "build_run_modal",
    "build_run_outcome",
    "build_scheduled_list",
    "chunks",
    "clip",
    "context",
    "data_text",
    "date_token",
    "divider",
    "duration",
    "escape",
    "header",
    "input_block_ids",
    "job_label",
    "list_message",
    "message",
    "next_runs",
    "plain",
    "refusal_text",
    "result_line",
    "schedule_words",
    "section",
    "user",
]
