"""Listeners of the listings' buttons and menus, so nobody types an ID: the menu of a scheduled job (Pause / Resume /
Cancel, on ``/jobs scheduled`` and the Home tab), the Run button of a job in ``/jobs list``, and the Home tab's
"Run a job" with its job picker.

Every click is checked on the server against the user who clicked (the services refuse what they may not do; the
refusal goes to them alone through ``bot.slack.ListenerGuard``); the surface the click came from is then redrawn.
Must not import SQLAlchemy or storage.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, BoltContext
from slack_bolt.context.respond import Respond
from slack_sdk import WebClient

from bot.domain.approvals import ApprovalState
from bot.domain.management import ManageAction
from bot.services import Services
from handlers import Listeners, blocks, ids
from handlers.actions import Directory
from handlers.payloads import parse_manage_choice, parse_picked_job
from handlers.redraw import SCHEDULED, answer_click, update_view


def register(app: Listeners) -> None:
    """Bind the menus and Run buttons."""
    app.action(ids.SCHEDULED_MENU)(handle_scheduled_job_menu)
    app.action(ids.JOB_RUN)(handle_job_run_button)
    app.action(ids.HOME_RUN_JOB)(handle_home_run_job_button)
    app.action(ids.JOB_PICK)(handle_job_pick_select)


def handle_scheduled_job_menu(ack: Ack, body: dict[str, Any], context: BoltContext, client: WebClient,
                              respond: Respond | None, services: Services, directory: Directory) -> None:
    """Pause, resume or cancel the scheduled job the chosen option names, then redraw the listing or Home tab."""
    ack()
    action, scheduled_job_id = parse_manage_choice(body)
    actor = directory.actor(context.user_id or "")
    management = services.management
    if action is ManageAction.PAUSE:
        record = management.pause_scheduled_job(actor=actor, scheduled_job_id=scheduled_job_id)
        verb = "paused"
    elif action is ManageAction.RESUME:
        record = management.resume_scheduled_job(actor=actor, scheduled_job_id=scheduled_job_id)
        verb = "resumed"
    else:
        record = management.cancel_scheduled_job(actor=actor, scheduled_job_id=scheduled_job_id)
        denied = record.approval_state is ApprovalState.DENIED and record.user_id != actor.user_id
        verb = "denied" if denied else "cancelled"
    answer_click(body=body, client=client, respond=respond, services=services, actor=actor, kind=SCHEDULED,
                 message=blocks.build_decision_notice(record, verb=verb))


def handle_job_run_button(ack: Ack, body: dict[str, Any], context: BoltContext, client: WebClient,
                          services: Services, directory: Directory) -> None:
    """Open the run modal of the job whose Run button was clicked."""
    ack()
    user_id = context.user_id or ""
    job = services.listings.get_run_form(parse_picked_job(body), directory.actor(user_id))
    client.views_open(trigger_id=body["trigger_id"], view=blocks.build_run_modal(
        job, time_zone=directory.time_zone(user_id), now=services.clock()))


def handle_home_run_job_button(ack: Ack, body: dict[str, Any], context: BoltContext, client: WebClient,
                               services: Services, directory: Directory) -> None:
    """Open the job picker: the jobs the user may see that can run."""
    ack()
    jobs = services.listings.list_jobs(directory.actor(context.user_id or ""))
    client.views_open(trigger_id=body["trigger_id"], view=blocks.build_job_picker_modal(jobs))


def handle_job_pick_select(ack: Ack, body: dict[str, Any], context: BoltContext, client: WebClient,
                           services: Services, directory: Directory) -> None:
    """Turn the job picker into the chosen job's run modal."""
    ack()
    user_id = context.user_id or ""
    job = services.listings.get_run_form(parse_picked_job(body), directory.actor(user_id))
    update_view(client, body["view"], blocks.build_run_modal(job, time_zone=directory.time_zone(user_id),
                                                             now=services.clock()))
