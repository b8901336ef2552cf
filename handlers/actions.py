"""Button and select listeners: Approve / Deny / Dry run on approval messages (and the queue and App Home), the
schedule-type select and the crontab (previewed as it is typed) of the run modal, and the Home tab's refresh button.

Refusals (no permission, own request, already decided by X, not runnable) raise a ``DomainError`` after the ack;
``bot.slack.ListenerGuard`` sends them to the clicking user alone. Must not import SQLAlchemy or storage.
"""

from __future__ import annotations

from typing import Any, Protocol

from slack_bolt import Ack, BoltContext
from slack_bolt.context.respond import Respond
from slack_sdk import WebClient

from bot.domain.errors import PastDueError
from bot.domain.schedules import IntervalType
from bot.domain.short_ids import short
from bot.services import Services
from handlers import Listeners, blocks, ids
from handlers.home import publish_home
from handlers.payloads import (
    is_shared_message_click,
    parse_action_value,
    parse_private_metadata,
    parse_selected_interval,
    view_state,
)
from handlers.redraw import QUEUE, answer_click, click_origin, update_view


class Directory(Protocol):
    """The Slack user directory the middleware provides (``bot.slack_directory.SlackDirectory``)."""

    def actor(self, user_id: str) -> Any: ...

    def time_zone(self, user_id: str) -> str: ...


def register(app: Listeners) -> None:
    """Bind the buttons and the schedule-type select to their listeners."""
    app.action(ids.APPROVE)(handle_approve_button)
    app.action(ids.APPROVE_CONFIRMED)(handle_approve_confirmed_button)
    app.action(ids.DENY)(handle_deny_button)
    app.action(ids.DRY_RUN)(handle_dry_run_button)
    app.action(ids.SCHEDULE_TYPE)(handle_schedule_type_select)
    app.action(ids.CRONTAB)(handle_crontab_typed)
    app.action(ids.HOME_REFRESH)(handle_home_refresh_button)


def handle_approve_button(ack: Ack, body: dict[str, Any], context: BoltContext, client: WebClient,
                          respond: Respond | None, services: Services, directory: Directory) -> None:
    """Approve; a request that became past due since its message was drawn opens a confirmation modal instead."""
    ack()
    scheduled_job_id = parse_action_value(body)
    actor = directory.actor(context.user_id or "")
    try:
        record = services.decisions.approve_scheduled_job(actor=actor, scheduled_job_id=scheduled_job_id)
    except PastDueError:
        client.views_open(trigger_id=body["trigger_id"],
                          view=blocks.build_past_due_modal(scheduled_job_id, origin=click_origin(body)))
        return
    if not is_shared_message_click(body):  # an approval message says it itself, updated in place
        answer_click(body=body, client=client, respond=respond, services=services, actor=actor, kind=QUEUE,
                     message=blocks.build_decision_notice(record, verb="approved"))


def handle_approve_confirmed_button(ack: Ack, body: dict[str, Any], context: BoltContext, client: WebClient,
                                    respond: Respond | None, services: Services, directory: Directory) -> None:
    """Approve a request that was past due when drawn: Slack's confirm dialog was accepted, so approve anyway."""
    ack()
    actor = directory.actor(context.user_id or "")
    record = services.decisions.approve_scheduled_job(actor=actor, scheduled_job_id=parse_action_value(body),
                                                      force=True)
    if not is_shared_message_click(body):  # an approval message says it itself, updated in place
        answer_click(body=body, client=client, respond=respond, services=services, actor=actor, kind=QUEUE,
                     message=blocks.build_decision_notice(record, verb="approved"))


def handle_deny_button(ack: Ack, body: dict[str, Any], context: BoltContext, client: WebClient, services: Services,
                       directory: Directory) -> None:
    """Ask for an optional reason in a modal; the denial happens when it is submitted."""
    ack()
    record = services.listings.get_scheduled_job(directory.actor(context.user_id or ""), parse_action_value(body))
    client.views_open(trigger_id=body["trigger_id"], view=blocks.build_deny_modal(record, origin=click_origin(body)))


def handle_dry_run_button(ack: Ack, body: dict[str, Any], context: BoltContext, client: WebClient,
                          respond: Respond | None, services: Services, directory: Directory) -> None:
    """Run the request's job now with commit off; its result goes into the approval message's thread."""
    ack()
    actor = directory.actor(context.user_id or "")
    result = services.decisions.dry_run_scheduled_job(actor=actor, scheduled_job_id=parse_action_value(body))
    text = (f"🧪 Dry run of {blocks.job_label(result.job)} started (result `{short(result.id)}`); its result and log "
            "go into the request's thread.")
    answer_click(body=body, client=client, respond=respond, services=services, actor=actor, kind=QUEUE,
                 message=blocks.build_notice(text))


def _redraw_run_modal(body: dict[str, Any], context: BoltContext, client: WebClient, services: Services,
                      directory: Directory, *, interval: IntervalType) -> None:
    view = body["view"]
    user_id = context.user_id or ""
    job = services.listings.get_run_form(str(parse_private_metadata(view).get("job", "")), directory.actor(user_id))
    crontab = view_state(view).get(ids.CRONTAB_BLOCK)
    update_view(client, view, blocks.build_run_modal(job, interval=interval, time_zone=directory.time_zone(user_id),
                                                     now=services.clock(),
                                                     crontab=str(crontab) if crontab else None))


def handle_schedule_type_select(ack: Ack, body: dict[str, Any], context: BoltContext, client: WebClient,
                                services: Services, directory: Directory) -> None:
    """Redraw the run modal with the fields the chosen schedule type needs; typed values are kept."""
    ack()
    _redraw_run_modal(body, context, client, services, directory, interval=parse_selected_interval(body))


def handle_crontab_typed(ack: Ack, body: dict[str, Any], context: BoltContext, client: WebClient,
                         services: Services, directory: Directory) -> None:
    """Redraw the run modal with the crontab typed so far previewed in words (or why it is not valid)."""
    ack()
    _redraw_run_modal(body, context, client, services, directory, interval=IntervalType.CUSTOM)


def handle_home_refresh_button(ack: Ack, context: BoltContext, client: WebClient, services: Services,
                               directory: Directory) -> None:
    """Redraw the Home tab."""
    ack()
    publish_home(client, services, directory.actor(context.user_id or ""))
