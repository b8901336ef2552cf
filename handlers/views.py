"""Modal submissions: the run modal, the deny-reason modal and the past-due confirmation.

A submission parses and calls its service before the ack, because Slack shows inline errors only from the ack. A
refusal raised on the way is answered by ``bot.slack.ListenerGuard`` in that ack: ``response_action: errors`` on the
input blocks it concerns (the same messages as the REST API), or a notice in place of a modal without inputs. Success
turns the modal into a short confirmation. Must not import SQLAlchemy or storage.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient

from bot.domain.schedule_names import default_schedule_name
from bot.services import ScheduleInput, Services
from handlers import Listeners, blocks, ids
from handlers.actions import Directory
from handlers.payloads import (
    RunModalInput,
    parse_confirm_submission,
    parse_deny_submission,
    parse_private_metadata,
    parse_run_submission,
)
from handlers.redraw import QUEUE, redraw_origin
from handlers.slack_files import fetch_attached_files


def register(app: Listeners) -> None:
    """Bind the modal submissions."""
    app.view(ids.RUN_MODAL)(handle_run_request_submission)
    app.view(ids.DENY_MODAL)(handle_deny_reason_submission)
    app.view(ids.PAST_DUE_MODAL)(handle_past_due_confirmation)


def _schedule(submitted: RunModalInput, *, job_name: str, time_zone: str, now: datetime) -> ScheduleInput | None:
    if submitted.interval.value == "immediately":  # a crontab still in the form goes on, to be refused
        if submitted.crontab is None and submitted.reason is None:
            return None
        return ScheduleInput(interval="immediately", crontab=submitted.crontab,
                             time_zone=time_zone if submitted.crontab is not None else None, reason=submitted.reason)
    start = submitted.start()
    name = submitted.name or default_schedule_name(job_name, start=start, crontab=submitted.crontab,
                                                   time_zone=time_zone, now=now)
    return ScheduleInput(interval=submitted.interval.value, name=name, start_time=start, crontab=submitted.crontab,
                         time_zone=time_zone, reason=submitted.reason)


def handle_run_request_submission(ack: Ack, view: dict[str, Any], context: BoltContext, client: WebClient,
                                  services: Services, directory: Directory) -> None:
    """Request the run (or schedule) the modal describes, with the files attached to it; invalid input comes back
    on the right field."""
    user_id = context.user_id or ""
    submitted = parse_run_submission(view)
    data = fetch_attached_files(client, submitted.data)
    time_zone = directory.time_zone(user_id)
    job_name = str(parse_private_metadata(view).get("job_name") or "")
    outcome = services.requests.request_job(actor=directory.actor(user_id), job=submitted.job_id, data=data,
                                            schedule=_schedule(submitted, job_name=job_name, time_zone=time_zone,
                                                               now=services.clock()),
                                            time_zone=time_zone)
    message = blocks.build_run_outcome(scheduled_job=outcome.scheduled_job, job_result=outcome.job_result,
                                       now=services.clock())
    ack(response_action="update", view=blocks.build_notice_modal("Done", message["blocks"][0]["text"]["text"]))


def handle_deny_reason_submission(ack: Ack, view: dict[str, Any], context: BoltContext, client: WebClient,
                                  services: Services, directory: Directory) -> None:
    """Deny the request with the reason given (or none); a refusal is shown on the reason field. The queue or Home
    tab the Deny click came from is then redrawn."""
    scheduled_job_id, reason = parse_deny_submission(view)
    actor = directory.actor(context.user_id or "")
    record = services.decisions.deny_scheduled_job(actor=actor, scheduled_job_id=scheduled_job_id, reason=reason)
    text = blocks.build_decision_notice(record, verb="denied")["blocks"][0]["text"]["text"]
    ack(response_action="update", view=blocks.build_notice_modal("Denied", text))
    redraw_origin(parse_private_metadata(view).get("origin") or {}, client=client, services=services, actor=actor,
                  kind=QUEUE, notice=text)


def handle_past_due_confirmation(ack: Ack, view: dict[str, Any], context: BoltContext, client: WebClient,
                                 services: Services, directory: Directory) -> None:
    """Approve a past-due request after explicit confirmation: it runs at once. The queue or Home tab the click came
    from is then redrawn."""
    actor = directory.actor(context.user_id or "")
    record = services.decisions.approve_scheduled_job(actor=actor, scheduled_job_id=parse_confirm_submission(view),
                                                      force=True)
    text = blocks.build_decision_notice(record, verb="approved")["blocks"][0]["text"]["text"]
    ack(response_action="update", view=blocks.build_notice_modal("Approved", text))
    redraw_origin(parse_private_metadata(view).get("origin") or {}, client=client, services=services, actor=actor,
                  kind=QUEUE, notice=text)
