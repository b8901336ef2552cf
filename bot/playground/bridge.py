"""What a person does on the playground page, turned into the requests Slack would send: slash commands (with a
``response_url`` and a ``trigger_id`` the simulator honours), ``block_actions`` on messages, modals and the Home tab,
``view_submission``, ``view_closed`` and ``app_home_opened``; each signed with the signing secret exactly as Slack
signs it (``v0:{timestamp}:{body}``, HMAC-SHA256) and POSTed to the real ``/slack/events``. The ack is then shown as
Slack shows it: a slash command's answer as a message only the user sees, a submission's ``response_action`` on the
modal (inline errors, update, push, clear), and nothing else.

This is wiring of the playground: it may import anything but storage and SQL.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from bot.playground.slack_sim import SlackSimulator
from bot.playground.workspace import BOT_USER_ID, Reply

TEAM_ID = "T0PLAYGROUND"
APP_ID = "A0JOBGATE"
COMMAND = "/jobs"


class BridgeError(ValueError):
    """What the page asked for cannot be sent (an unknown message or modal, a malformed action)."""


@dataclass(frozen=True)
class Outcome:
    """How jobgate answered: the HTTP status of its ack, and a line for the page when it was not a success."""

    status: int
    problem: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"status": self.status, "problem": self.problem}


class Bridge:
    """Sends what the page's person does to jobgate as Slack would.

    Args:
        sim: the Slack simulator (for response URLs, triggers, messages and modals).
        events_url: jobgate's ``/slack/events``.
        signing_secret: the app's signing secret.
    """

    def __init__(self, sim: SlackSimulator, *, events_url: str, signing_secret: str) -> None:
        self.sim = sim
        self.events_url = events_url
        self.signing_secret = signing_secret
        self._ids = itertools.count(1)

    # ------------------------------------------------------------------------------------------------ requests

    def command(self, *, user: str, channel: str, text: str) -> Outcome:
        """``/jobs <text>`` typed by ``user`` in ``channel``; an answer in the ack is shown to them alone."""
        command, _, rest = text.strip().partition(" ")
        if command != COMMAND:
            return Outcome(400, f"Only {COMMAND} commands reach jobgate here; try `{COMMAND} help`.")
        body = urlencode({
            "token": "unused", "team_id": TEAM_ID, "team_domain": "playground", "channel_id": channel,
            "channel_name": self.sim.workspace.channels.get(channel, "directmessage"), "user_id": user,
            "user_name": user.lower(), "command": COMMAND, "text": rest.strip(), "api_app_id": APP_ID,
            "is_enterprise_install": "false", "trigger_id": self._trigger(user),
            "response_url": self.sim.response_url("cmd", reply=Reply(channel=channel, user=user)),
        })
        status, answer = self._post(body, "application/x-www-form-urlencoded")
        if status == 200 and isinstance(answer, dict) and (answer.get("text") or answer.get("blocks")):
            in_channel = answer.get("response_type") == "in_channel"
            self.sim.workspace.post(channel=channel, ts=self._ts(), text=str(answer.get("text") or ""),
                                    blocks=list(answer.get("blocks") or []), only_for=None if in_channel else user)
        return self._outcome(status)

    def message_action(self, *, user: str, channel: str, ts: str, action: dict[str, Any]) -> Outcome:
        """A button, select or menu used on the message at ``ts`` in ``channel``."""
        message = self.sim.workspace.message(channel, ts)
        if message is None:
            raise BridgeError("that message is gone")
        ephemeral = message.get("only_for") is not None
        payload = self._base("block_actions", user) | {
            "container": {"type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": ephemeral},
            "channel": {"id": channel, "name": self.sim.workspace.channels.get(channel, "directmessage")},
            "message": {"type": "message", "ts": ts, "text": message["text"], "blocks": message["blocks"],
                        "user": BOT_USER_ID, **({"thread_ts": message["thread_ts"]} if message["thread_ts"] else {})},
            "response_url": self.sim.response_url("click", reply=Reply(channel=channel, user=user, message_ts=ts,
                                                                      ephemeral=ephemeral)),
            "actions": [self._action(action)],
            "state": {"values": {}},
        }
        return self._interactive(payload)

    def view_action(self, *, user: str, view_id: str, action: dict[str, Any], state: dict[str, Any]) -> Outcome:
        """A button or select used in a modal or on the Home tab (``state``: the values typed so far)."""
        view = self._view(user, view_id)
        payload = self._base("block_actions", user) | {
            "container": {"type": "view", "view_id": view_id},
            "view": {**view, "state": {"values": state}, "team_id": TEAM_ID, "app_id": APP_ID,
                     "bot_id": "BJOBGATE", "root_view_id": view_id, "previous_view_id": None},
            "actions": [self._action(action)],
        }
        return self._interactive(payload)

    def submit(self, *, user: str, view_id: str, state: dict[str, Any]) -> Outcome:
        """Submit a modal; its ack's ``response_action`` is carried out on the page."""
        view = self._view(user, view_id)
        payload = self._base("view_submission", user) | {
            "view": {**view, "state": {"values": state}, "team_id": TEAM_ID, "app_id": APP_ID, "bot_id": "BJOBGATE",
                     "root_view_id": view_id, "previous_view_id": None},
            "response_urls": [],
        }
        status, answer = self._post(urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded")
        workspace = self.sim.workspace
        action = answer.get("response_action") if isinstance(answer, dict) else None
        if status != 200:
            return self._outcome(status)
        if action == "errors":
            workspace.add("view_errors", user=user, view_id=view_id, errors=dict(answer.get("errors") or {}))
        elif action == "update" and isinstance(answer.get("view"), dict):
            workspace.update_view(view_id, answer["view"])
        elif action == "push" and isinstance(answer.get("view"), dict):
            workspace.open_view(user=user, view=answer["view"], kind="view_push")
        elif action == "clear":
            workspace.add("view_close", user=user, view_id=None)
        else:
            workspace.add("view_close", user=user, view_id=view_id)
        return Outcome(status)

    def close(self, *, user: str, view_id: str) -> Outcome:
        """Close a modal: ``view_closed`` goes to jobgate when the modal asked for it (``notify_on_close``)."""
        view = self._view(user, view_id)
        self.sim.workspace.add("view_close", user=user, view_id=view_id)
        if not view.get("notify_on_close"):
            return Outcome(200)
        payload = self._base("view_closed", user) | {"view": view, "is_cleared": False}
        payload.pop("trigger_id", None)
        return self._interactive(payload)

    def open_home(self, *, user: str) -> Outcome:
        """The person opened the app's Home tab: the ``app_home_opened`` event."""
        body = json.dumps({
            "token": "unused", "team_id": TEAM_ID, "api_app_id": APP_ID, "type": "event_callback",
            "event": {"type": "app_home_opened", "user": user, "channel": "D" + user[1:], "tab": "home",
                      "event_ts": f"{time.time():.6f}"},
            "event_id": f"EvPLAY{next(self._ids):08d}", "event_time": int(time.time()),
            "authorizations": [{"team_id": TEAM_ID, "user_id": BOT_USER_ID, "is_bot": True}],
        })
        status, _ = self._post(body, "application/json")
        return self._outcome(status)

    # ------------------------------------------------------------------------------------------------- helpers

    def _trigger(self, user: str) -> str:
        trigger = f"{next(self._ids)}.{int(time.time())}.playground"
        self.sim.workspace.remember_trigger(trigger, user)
        return trigger

    def _ts(self) -> str:
        return f"{time.time():.6f}"

    def _base(self, kind: str, user: str) -> dict[str, Any]:
        return {"type": kind, "team": {"id": TEAM_ID, "domain": "playground"},
                "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": TEAM_ID},
                "api_app_id": APP_ID, "token": "unused", "trigger_id": self._trigger(user)}

    def _view(self, user: str, view_id: str) -> dict[str, Any]:
        known = self.sim.workspace.view(view_id)
        if known is None or known["user"] != user:
            raise BridgeError("that view is not open for this user")
        return dict(known["view"])

    @staticmethod
    def _action(action: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(action.get("action_id"), str) or not isinstance(action.get("type"), str):
            raise BridgeError("an action needs its action_id and type")
        allowed = ("action_id", "block_id", "type", "value", "text", "selected_option", "selected_options",
                   "selected_date", "selected_time", "selected_user")
        return {**{k: v for k, v in action.items() if k in allowed}, "action_ts": f"{time.time():.6f}"}

    def _interactive(self, payload: dict[str, Any]) -> Outcome:
        status, _ = self._post(urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded")
        return self._outcome(status)

    def _post(self, body: str, content_type: str) -> tuple[int, Any]:
        """POST ``body`` to ``/slack/events`` signed as Slack signs it; the status and the JSON ack (if any)."""
        timestamp = str(int(time.time()))
        digest = hmac.new(self.signing_secret.encode(), f"v0:{timestamp}:{body}".encode(), hashlib.sha256)
        request = urllib.request.Request(self.events_url, data=body.encode(), method="POST", headers={
            "Content-Type": content_type, "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": "v0=" + digest.hexdigest()})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read()
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, None

    @staticmethod
    def _outcome(status: int) -> Outcome:
        if status == 200:
            return Outcome(status)
        return Outcome(status, f"jobgate answered HTTP {status}; Slack would show the person an error.")
