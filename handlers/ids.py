"""Every Slack identifier jobgate uses: the slash command, action_ids, callback_ids and block_ids, defined once.

They are stable once shipped: Slack sends them back in payloads of messages posted long ago. Pure constants; must not
import Slack, SQLAlchemy or storage.
"""

from __future__ import annotations

COMMAND = "/jobs"
"""The slash command (its name is also set in ``manifest.yml``)."""

# --- approval messages (and the approval queue, App Home) ----------------------------------------------------------
APPROVE = "approval_approve"
"""Approve button on a request that was not past due when the message was drawn."""
APPROVE_CONFIRMED = "approval_approve_confirmed"
"""Approve button carrying Slack's ``confirm`` dialog (past due when drawn): a click means "approve anyway"."""
DENY = "approval_deny"
DRY_RUN = "approval_dry_run"
APPROVAL_ACTIONS_BLOCK = "approval_actions"
"""Prefix of the actions block holding the three buttons (``approval_actions:<scheduled job id>``)."""

# --- run modal -----------------------------------------------------------------------------------------------------
RUN_MODAL = "run_request_modal"
SCHEDULE_TYPE_BLOCK = "schedule_type_block"
SCHEDULE_TYPE = "schedule_type_select"
SCHEDULE_NAME_BLOCK = "schedule_name_block"
SCHEDULE_NAME = "schedule_name_input"
START_DATE_BLOCK = "start_date_block"
START_DATE = "start_date_picker"
START_TIME_BLOCK = "start_time_block"
START_TIME = "start_time_picker"
CRONTAB_BLOCK = "crontab_block"
CRONTAB = "crontab_input"
"""The crontab input; it also dispatches as it is typed, so the modal previews it in words."""
CRONTAB_PREVIEW_BLOCK = "crontab_preview_block"
JOB_PICKER_MODAL = "run_job_picker_modal"
"""The modal the Home tab's "Run a job" opens: pick a job, then it becomes that job's run modal."""
JOB_PICK_BLOCK = "job_pick_block"
JOB_PICK = "job_pick_select"
REQUEST_REASON_BLOCK = "request_reason_block"
"""The optional "Why?" of a run request, shown to the approvers."""
REQUEST_REASON = "request_reason_input"
VARIABLE_BLOCK_PREFIX = "var:"
"""Block id of a job variable's input: ``var:<variable name>``."""
VARIABLE = "variable_input"

# --- other modals --------------------------------------------------------------------------------------------------
DENY_MODAL = "deny_reason_modal"
DENY_REASON_BLOCK = "deny_reason_block"
DENY_REASON = "deny_reason_input"
PAST_DUE_MODAL = "past_due_confirm_modal"
NOTICE_MODAL = "notice_modal"

# --- listings ------------------------------------------------------------------------------------------------------
SCHEDULED_MENU = "scheduled_job_menu"
"""The overflow menu (Pause / Resume / Cancel) of a scheduled job in ``/jobs scheduled`` and the Home tab; each
option's value is ``<verb>:<scheduled job id>``."""
JOB_RUN = "job_run"
"""The Run button of a job in ``/jobs list``; its value is the job's ID."""

# --- App Home ------------------------------------------------------------------------------------------------------
HOME_REFRESH = "home_refresh"
HOME_RUN_JOB = "home_run_job"
"""The Home tab's "Run a job" button."""

ACTION_IDS: tuple[str, ...] = (APPROVE, APPROVE_CONFIRMED, DENY, DRY_RUN, SCHEDULE_TYPE, CRONTAB, HOME_REFRESH,
                                SCHEDULED_MENU, JOB_RUN, HOME_RUN_JOB, JOB_PICK)
"""Every action_id a listener is registered for."""
CALLBACK_IDS: tuple[str, ...] = (RUN_MODAL, DENY_MODAL, PAST_DUE_MODAL)
"""Every view callback_id a submission listener is registered for."""
EVENTS: tuple[str, ...] = ("app_home_opened",)
"""Every Events API event type a listener is registered for."""
