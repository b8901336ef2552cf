"""Slack's Block Kit limits, checked on every recorded Web API call and every ack (what ``slack_sdk.models`` and
TypeScript's types do not check: counts and lengths)."""

from __future__ import annotations

import json
from typing import Any

from tests.fake_slack import RESPONSE_URL_METHOD, Call

MESSAGE_METHODS = ("chat.postMessage", "chat.update", "chat.postEphemeral", RESPONSE_URL_METHOD)
VIEW_METHODS = ("views.open", "views.update", "views.push", "views.publish")


def _text(obj: Any) -> str:
    return obj.get("text", "") if isinstance(obj, dict) else ""


def check_blocks(blocks: list[dict[str, Any]], where: str) -> list[str]:
    """Problems in a list of blocks: ids, section texts and fields, buttons, options, inputs, confirm dialogs."""
    problems: list[str] = []
    seen_blocks: set[str] = set()
    for block in blocks:
        kind = block.get("type")
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
        elements = list(block.get("elements") or [])
        for key in ("element", "accessory"):
            if key in block:
                elements.append(block[key])
        seen_actions: set[str] = set()
        for element in elements:
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


def check_message(message: dict[str, Any], where: str) -> list[str]:
    """A message (Web API call, response_url post or slash-command ack): a text fallback and at most 50 blocks."""
    problems: list[str] = []
    blocks = message.get("blocks") or []
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    if not str(message.get("text") or "").strip():
        problems.append(f"{where}: empty text fallback")
    if len(blocks) > 50:
        problems.append(f"{where}: {len(blocks)} blocks in a message")
    return problems + check_blocks(blocks, where)


def check_view(view: dict[str, Any], where: str) -> list[str]:
    """A modal or Home view: at most 100 blocks, titles and buttons of at most 24, private_metadata ≤ 3000."""
    problems: list[str] = []
    blocks = view.get("blocks") or []
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


def check_call(call: Call) -> list[str]:
    """Problems with one recorded Web API call."""
    where = f"{call.method} {call.path}"
    if call.method in MESSAGE_METHODS:
        return check_message(call.params, where)
    if call.method in VIEW_METHODS:
        view = call.params.get("view")
        view = json.loads(view) if isinstance(view, str) else view
        return check_view(view or {}, where)
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
