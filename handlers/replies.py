"""Answering the person who acted, alone, wherever the action came from. Must not import SQLAlchemy or storage."""

from __future__ import annotations

from typing import Any

from slack_bolt.context.respond import Respond
from slack_sdk import WebClient

from handlers import blocks
from handlers.blocks import Message


def reply_privately(*, body: dict[str, Any], client: WebClient, respond: Respond | None, message: Message) -> None:
    """Answer the acting user alone: through ``response_url`` when there is one, else ephemeral in the channel, else
    (App Home, modals) in a small modal, or as a last resort by direct message."""
    user_id = (body.get("user") or {}).get("id") or body.get("user_id")
    if respond is not None and respond.response_url:
        respond(response_type="ephemeral", replace_original=False, **message)
        return
    channel = (body.get("channel") or {}).get("id") or body.get("channel_id")
    if channel and user_id:
        client.chat_postEphemeral(channel=channel, user=user_id, **message)
        return
    if body.get("trigger_id") and body.get("type") == "block_actions":
        text = message["blocks"][0]["text"]["text"] if message.get("blocks") else message["text"]
        client.views_open(trigger_id=body["trigger_id"], view=blocks.build_notice_modal("jobgate", text))
        return
    if user_id:
        client.chat_postMessage(channel=user_id, **message)


