"""Slack's Block Kit limits: the block and element types Slack knows, counts and lengths (what ``slack_sdk.models``
and TypeScript's types do not check). The Slack simulator answers ``invalid_blocks`` for a call that breaks them, as
Slack does; the scenario tests also check every recorded call and ack with them.

Pure: stdlib only.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

RESPONSE_URL_METHOD = "response_url"
"""The ``method`` recorded for a POST to a ``response_url``."""
MESSAGE_METHODS = ("chat.postMessage", "chat.update", "chat.postEphemeral", RESPONSE_URL_METHOD)
VIEW_METHODS = ("views.open", "views.update", "views.push", "views.publish")
MAX_TEXT = 40_000
"""Characters of a message's ``text`` beyond which Slack answers ``msg_too_long``."""
BLOCK_TYPES = frozenset({"actions", "context", "divider", "file", "header", "image", "input", "rich_text", "section",
                         "video", "markdown"})
ELEMENT_TYPES = frozenset({
    "button", "checkboxes", "datepicker", "datetimepicker", "timepicker", "email_text_input", "image",
    "multi_static_select", "multi_users_select", "multi_conversations_select", "multi_channels_select",
    "multi_external_select", "number_input", "overflow", "plain_text_input", "radio_buttons", "static_select",
    "users_select", "conversations_select", "channels_select", "external_select", "url_text_input", "mrkdwn",
    "plain_text", "rich_text_input", "file_input", "workflow_button",
})
"""The element types Slack accepts in blocks (interactive elements, and text and images in context blocks)."""


class Recorded(Protocol):
    """A recorded Web API call (``bot.playground.slack_sim.Call``)."""

    method: str
    params: dict[str, Any]
    path: str


def _text(obj: Any) -> str:
    return obj.get("text", "") if isinstance(obj, dict) else ""


def check_blocks(blocks: list[dict[str, Any]], where: str) -> list[str]:
    """Problems in a list of blocks: ids, section texts and fields, buttons, options, inputs, confirm dialogs."""
    problems: list[str] = []
    seen_blocks: set[str] = set()
    for block in blocks:
        if not isinstance(block, dict):
            problems.append(f"{where}: a block is not an object")
            continue
        kind = block.get("type")
        if kind not in BLOCK_TYPES:
            problems.append(f"{where}: unknown block type {kind!r}")
        block_id = block.get("block_id")
        if block_id is not None:
            if len(block_id) > 255:
                problems.append(f"{where}: block_id longer than 255")
            if block_id in seen_blocks:
                problems.append(f"{where}: block_id {block_id!r} repeated")
            seen_blocks.add(block_id)
        if kind == "section":
            text = _text(block.get("text"))
            if "text" in block and not 1 <= len(text) <= 3000:
                problems.append(f"{where}: section text of {len(text)} characters")
            fields = block.get("fields") or []
            if len(fields) > 10 or any(not 1 <= len(_text(f)) <= 2000 for f in fields):
                problems.append(f"{where}: section fields out of bounds")
            if not block.get("text") and not fields:
                problems.append(f"{where}: section without text or fields")
        if kind == "header" and not 1 <= len(_text(block.get("text"))) <= 150:
            problems.append(f"{where}: header text out of bounds")
        if kind == "context" and (not 1 <= len(block.get("elements") or []) <= 10):
            problems.append(f"{where}: context elements out of bounds")
        if kind == "actions" and not 1 <= len(block.get("elements") or []) <= 25:
            problems.append(f"{where}: actions elements out of bounds")
        if kind == "input":
            if not 1 <= len(_text(block.get("label"))) <= 2000:
                problems.append(f"{where}: input label out of bounds")
            if "hint" in block and not 1 <= len(_text(block["hint"])) <= 2000:
                problems.append(f"{where}: input hint out of bounds")
        elements = list(block.get("elements") or []) if kind != "rich_text" else []  # rich text has its own kinds
        for key in ("element", "accessory"):
            if key in block:
                elements.append(block[key])
        seen_actions: set[str] = set()
        for element in elements:
            if not isinstance(element, dict):
                problems.append(f"{where}: an element is not an object")
                continue
            problems.extend(check_element(element, where))
            action_id = element.get("action_id")
            if action_id is not None:
                if action_id in seen_actions:
                    problems.append(f"{where}: action_id {action_id!r} repeated in a block")
                seen_actions.add(action_id)
    return problems


def check_element(element: dict[str, Any], where: str) -> list[str]:
    """Problems in one interactive element or text element."""
    problems: list[str] = []
    kind = element.get("type")
    if kind not in ELEMENT_TYPES:
        problems.append(f"{where}: unknown element type {kind!r}")
    if len(element.get("action_id", "")) > 255:
        problems.append(f"{where}: action_id longer than 255")
    if kind in ("mrkdwn", "plain_text") and not 1 <= len(element.get("text", "")) <= 3000:
        problems.append(f"{where}: context text out of bounds")
    if kind == "button":
        if not 1 <= len(_text(element.get("text"))) <= 75:
            problems.append(f"{where}: button text out of bounds")
        if len(element.get("value", "")) > 2000:
            problems.append(f"{where}: button value longer than 2000")
        if element.get("style") not in (None, "primary", "danger"):
            problems.append(f"{where}: button style {element.get('style')!r}")
    options = list(element.get("options") or [])
    if kind in ("static_select", "multi_static_select") and not 1 <= len(options) <= 100:
        problems.append(f"{where}: {len(options)} options")
    for option in options + list(element.get("initial_options") or []) + (
            [element["initial_option"]] if element.get("initial_option") else []):
        if not 1 <= len(_text(option.get("text"))) <= 75 or not 1 <= len(option.get("value", "")) <= 150:
            problems.append(f"{where}: option out of bounds")
    if "placeholder" in element and not 1 <= len(_text(element["placeholder"])) <= 150:
        problems.append(f"{where}: placeholder out of bounds")
    confirm = element.get("confirm")
    if confirm:
        bounds = {"title": 100, "text": 300, "confirm": 30, "deny": 30}
        for key, limit in bounds.items():
            if not 1 <= len(_text(confirm.get(key))) <= limit:
                problems.append(f"{where}: confirm {key} out of bounds")
    return problems


def check_message(message: dict[str, Any], where: str, *, require_text: bool = True) -> list[str]:
    """A message (Web API call, response_url post or slash-command ack): a text fallback and at most 50 blocks.

    Args:
        message: the message's parameters.
        where: what to call it in the problems.
        require_text: whether a missing ``text`` fallback is a problem (jobgate always sends one; Slack only warns).
    """
    problems: list[str] = []
    blocks = message.get("blocks") or []
    if isinstance(blocks, str):
        try:
            blocks = json.loads(blocks)
        except ValueError:
            return [f"{where}: blocks is not JSON"]
    if not isinstance(blocks, list):
        return [f"{where}: blocks is not a list"]
    if require_text and not str(message.get("text") or "").strip():
        problems.append(f"{where}: empty text fallback")
    if len(blocks) > 50:
        problems.append(f"{where}: {len(blocks)} blocks in a message")
    return problems + check_blocks(blocks, where)


def check_view(view: dict[str, Any], where: str) -> list[str]:
    """A modal or Home view: at most 100 blocks, titles and buttons of at most 24, private_metadata ≤ 3000."""
    problems: list[str] = []
    blocks = view.get("blocks") or []
    if not isinstance(blocks, list):
        return [f"{where}: blocks is not a list"]
    if not 1 <= len(blocks) <= 100:
        problems.append(f"{where}: {len(blocks)} blocks in a view")
    for key in ("title", "submit", "close"):
        if key in view and not 1 <= len(_text(view[key])) <= 24:
            problems.append(f"{where}: view {key} out of bounds")
    if view.get("type") == "modal" and "title" not in view:
        problems.append(f"{where}: modal without a title")
    if view.get("type") == "modal" and any(b.get("type") == "input" for b in blocks) and "submit" not in view:
        problems.append(f"{where}: modal with inputs but no submit")
    if len(view.get("private_metadata", "")) > 3000 or len(view.get("callback_id", "")) > 255:
        problems.append(f"{where}: private_metadata or callback_id too long")
    return problems + check_blocks(blocks, where)


def check_call(call: Recorded) -> list[str]:
    """Problems with one recorded Web API call."""
    return check_request(call.method, call.params, f"{call.method} {call.path}")


def check_request(method: str, params: dict[str, Any], where: str, *, require_text: bool = True) -> list[str]:
    """Problems with the blocks or view of one Web API call (or ``response_url`` post) of ``method``."""
    if method in MESSAGE_METHODS:
        return check_message(params, where, require_text=require_text)
    if method in VIEW_METHODS:
        view = params.get("view")
        try:
            view = json.loads(view) if isinstance(view, str) else view
        except ValueError:
            return [f"{where}: view is not JSON"]
        return check_view(view, where) if isinstance(view, dict) else [f"{where}: no view"]
    return []


def check_ack(kind: str, body: dict[str, Any]) -> list[str]:
    """Problems with one ack body jobgate answered with."""
    if body.get("response_action") == "errors":
        errors = body.get("errors") or {}
        return [f"ack {kind}: error text too long" for v in errors.values() if not 1 <= len(v) <= 2000]
    if "view" in body:
        return check_view(body["view"], f"ack {kind}")
    if "blocks" in body or "text" in body:
        return check_message(body, f"ack {kind}")
    return []
