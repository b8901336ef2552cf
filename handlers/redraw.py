"""Redrawing a surface after a click: the run modal (``views.update`` with the view's ``hash``), and the listing or
Home tab the click came from, so no button stays stale after it was used.

A stale ``hash`` means a newer update of the same modal won (a person typing faster than the round trip): that
update already shows the newer state, so nothing more is done. Must not import SQLAlchemy or storage.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.context.respond import Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from bot.domain.permissions import Actor
from bot.services import Services
from handlers import blocks
from handlers.blocks import Message, View
from handlers.blocks.listings import notice_text
from handlers.home import publish_home
from handlers.replies import reply_privately


def update_view(client: WebClient, view: dict[str, Any], new_view: View) -> None:
    """Replace a modal the user has open, unless a newer update of it already won (``hash_conflict``)."""
    try:
        client.views_update(view_id=view["id"], hash=view.get("hash"), view=new_view)
    except SlackApiError as error:
        if error.response.get("error") != "hash_conflict":
            raise


QUEUE = "queue"
SCHEDULED = "scheduled"


def click_origin(body: dict[str, Any]) -> dict[str, str]:
    """Where a click came from, as a modal it opens keeps it (``private_metadata``) to redraw that surface once it
    is submitted: ``{"home": "1"}`` for the Home tab, ``{"response_url": …}`` for an ephemeral listing, else ``{}``."""
    if (body.get("view") or {}).get("type") == "home":
        return {"home": "1"}
    if (body.get("container") or {}).get("is_ephemeral") and body.get("response_url"):
        return {"response_url": str(body["response_url"])}
    return {}


def listing(services: Services, actor: Actor, kind: str, *, notice: str) -> Message:
    """The ephemeral listing a click came from, drawn anew with a notice of what the click did."""
    now = services.clock()
    if kind == QUEUE:
        page = services.listings.list_approval_queue(actor, limit=20)
        drawn = blocks.build_queue(page, now=now)
        drawn["blocks"].insert(1, blocks.context(notice))
        drawn["blocks"] = drawn["blocks"][: blocks.MAX_MESSAGE_BLOCKS]
        drawn["text"] = blocks.clip(notice_text(notice) + drawn["text"], 3000)
        return drawn
    page = services.listings.list_scheduled_jobs(actor, limit=30)
    return blocks.build_scheduled_list(page, now=now, menus=services.listings.menu_actions(actor, page.items),
                                       notice=notice)


def answer_click(*, body: dict[str, Any], client: WebClient, respond: Respond | None, services: Services,
                 actor: Actor, message: Message, kind: str) -> None:
    """Tell the person who clicked what their click did, and redraw the surface it came from so no button there is
    stale: the Home tab is published again (with the notice on top), an ephemeral listing (``kind``: the approval
    queue or the scheduled jobs) is replaced through its ``response_url``; anywhere else, the notice goes to them
    alone (the message itself is updated by the notifier)."""
    notice = message["blocks"][0]["text"]["text"] if message.get("blocks") else message["text"]
    origin = click_origin(body)
    if origin.get("home"):
        publish_home(client, services, actor, notice=notice)
    elif origin.get("response_url") and respond is not None:
        respond(response_type="ephemeral", replace_original=True, **listing(services, actor, kind, notice=notice))
    else:
        reply_privately(body=body, client=client, respond=respond, message=message)


def redraw_origin(origin: dict[str, Any], *, client: WebClient, services: Services, actor: Actor, kind: str,
                  notice: str) -> None:
    """After a modal opened by a click was submitted, redraw the surface the click came from (``click_origin``)."""
    if origin.get("home"):
        publish_home(client, services, actor, notice=notice)
    elif origin.get("response_url"):
        WebhookClient(str(origin["response_url"])).send_dict(
            {"response_type": "ephemeral", "replace_original": True, **listing(services, actor, kind, notice=notice)})
