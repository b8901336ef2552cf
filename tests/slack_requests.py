"""Requests as Slack sends them: real payload shapes, signed with the signing secret, POSTed over real HTTP.

``serve(app)`` runs an ASGI app under uvicorn in a thread on 127.0.0.1 (an ephemeral port). ``SlackActions`` builds
slash commands (form-encoded), interactivity (``payload=`` JSON: button clicks, select changes, view submissions) and
Events API callbacks (JSON), signs each with ``slack_sdk.signature.SignatureVerifier`` exactly as Slack does
(``v0:{timestamp}:{body}``, HMAC-SHA256) and POSTs the exact signed bytes to ``/slack/events``. Every ack body is kept
in ``acks`` (the tests check them against Slack's limits and types).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx
import uvicorn
from slack_sdk.signature import SignatureVerifier

from tests.fake_slack import FakeSlack

TEAM_ID = "T0TEST"
APP_ID = "A0JOBGATE"


@contextlib.contextmanager
def serve(app: Any) -> Iterator[str]:
    """Serve an ASGI app with uvicorn on 127.0.0.1 in a thread; yields its base URL."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@dataclass
class Ack:
    """One answer of jobgate to a Slack request."""

    kind: str
    status: int
    body: str
    elapsed: float
    json: dict[str, Any] | None = None


@dataclass
class SlackActions:
    """What a Slack workspace does to jobgate, as signed HTTP requests.

    Args:
        base_url: where jobgate is served.
        signing_secret: the app's signing secret.
        fake: the fake Web API (for ``response_url``s).
    """

    base_url: str
    signing_secret: str
    fake: FakeSlack
    acks: list[Ack] = field(default_factory=list)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def __post_init__(self) -> None:
        self.http = httpx.Client(base_url=self.base_url, timeout=30)

    def close(self) -> None:
        self.http.close()

    # ------------------------------------------------------------------------------------------------- transport

    def post(self, body: str, *, content_type: str, kind: str, timestamp: int | None = None,
             secret: str | None = None, signed: bool = True) -> Ack:
        """POST ``body`` to ``/slack/events`` signed as Slack signs it (or not at all)."""
        ts = str(int(time.time()) if timestamp is None else timestamp)
        headers = {"Content-Type": content_type}
        if signed:
            verifier = SignatureVerifier(secret or self.signing_secret)
            headers["X-Slack-Request-Timestamp"] = ts
            headers["X-Slack-Signature"] = verifier.generate_signature(timestamp=ts, body=body)
        started = time.monotonic()
        response = self.http.post("/slack/events", content=body.encode(), headers=headers)
        elapsed = time.monotonic() - started
        parsed = None
        if response.headers.get("content-type", "").startswith("application/json") and response.content:
            parsed = response.json()
        ack = Ack(kind=kind, status=response.status_code, body=response.text, elapsed=elapsed, json=parsed)
        self.acks.append(ack)
        return ack

    def _interactive(self, payload: dict[str, Any], kind: str, **kwargs: Any) -> Ack:
        return self.post(urlencode({"payload": json.dumps(payload)}), content_type="application/x-www-form-urlencoded",
                         kind=kind, **kwargs)

    def _trigger(self) -> str:
        return f"{next(self._ids)}.{int(time.time())}.trigger"

    # -------------------------------------------------------------------------------------------------- commands

    def command_body(self, text: str, *, user_id: str, channel_id: str = "C0GENERAL") -> str:
        """A slash command's form body, as Slack sends it."""
        return urlencode({
            "token": "verification-token-unused", "team_id": TEAM_ID, "team_domain": "jobgate-test",
            "channel_id": channel_id, "channel_name": "general", "user_id": user_id, "user_name": user_id.lower(),
            "command": "/jobs", "text": text, "api_app_id": APP_ID, "is_enterprise_install": "false",
            "response_url": self.fake.response_url("cmd"), "trigger_id": self._trigger(),
        })

    def command(self, text: str, *, user_id: str, channel_id: str = "C0GENERAL", **kwargs: Any) -> Ack:
        """``/jobs <text>`` typed by ``user_id``."""
        return self.post(self.command_body(text, user_id=user_id, channel_id=channel_id),
                         content_type="application/x-www-form-urlencoded", kind="command", **kwargs)

    # --------------------------------------------------------------------------------------------------- clicks

    def click(self, action_id: str, value: str, *, user_id: str, message: dict[str, Any] | None = None,
              channel_id: str = "C0APPROVALS", message_ts: str = "1700000000.000100", block_id: str = "b",
              ephemeral: bool = False) -> Ack:
        """A button click on a message (approval message, queue, notice)."""
        payload = {
            "type": "block_actions", "team": {"id": TEAM_ID, "domain": "jobgate-test"},
            "user": {"id": user_id, "username": user_id.lower(), "name": user_id.lower(), "team_id": TEAM_ID},
            "api_app_id": APP_ID, "token": "verification-token-unused",
            "container": {"type": "message", "message_ts": message_ts, "channel_id": channel_id,
                          "is_ephemeral": ephemeral},
            "trigger_id": self._trigger(), "channel": {"id": channel_id, "name": "approvals"},
            "message": {"type": "message", "ts": message_ts, "text": (message or {}).get("text", "x"),
                        "blocks": (message or {}).get("blocks", [])},
            "response_url": self.fake.response_url("click"),
            "actions": [{"type": "button", "action_id": action_id, "block_id": block_id, "value": value,
                         "text": {"type": "plain_text", "text": action_id}, "action_ts": f"{time.time():.6f}"}],
        }
        return self._interactive(payload, "block_actions")

    def choose(self, action_id: str, value: str, *, user_id: str, home_view: dict[str, Any] | None = None,
               channel_id: str = "D0DIRECT", ephemeral: bool = True) -> Ack:
        """Choose the option ``value`` of an overflow menu: on the Home tab when ``home_view`` is given (no channel,
        no response_url), else on a message (by default an ephemeral listing, with its own response_url)."""
        payload: dict[str, Any] = {
            "type": "block_actions", "team": {"id": TEAM_ID, "domain": "jobgate-test"},
            "user": {"id": user_id, "username": user_id.lower(), "name": user_id.lower(), "team_id": TEAM_ID},
            "api_app_id": APP_ID, "token": "verification-token-unused", "trigger_id": self._trigger(),
            "actions": [{"type": "overflow", "action_id": action_id, "block_id": "b",
                         "selected_option": {"text": {"type": "plain_text", "text": value}, "value": value},
                         "action_ts": f"{time.time():.6f}"}],
        }
        if home_view is not None:
            payload["container"] = {"type": "view", "view_id": home_view.get("id", "VHOME")}
            payload["view"] = {**home_view, "id": home_view.get("id", "VHOME"), "type": "home",
                               "state": {"values": {}}}
        else:
            payload["container"] = {"type": "message", "message_ts": "1700000000.000200", "channel_id": channel_id,
                                    "is_ephemeral": ephemeral}
            payload["channel"] = {"id": channel_id, "name": "directmessage"}
            payload["response_url"] = self.fake.response_url("click")
        return self._interactive(payload, "block_actions")

    def click_in_home(self, action_id: str, value: str, *, user_id: str, view: dict[str, Any]) -> Ack:
        """A button click on the App Home tab (no channel, no response_url)."""
        payload = {
            "type": "block_actions", "team": {"id": TEAM_ID, "domain": "jobgate-test"},
            "user": {"id": user_id, "username": user_id.lower(), "name": user_id.lower(), "team_id": TEAM_ID},
            "api_app_id": APP_ID, "token": "verification-token-unused",
            "container": {"type": "view", "view_id": view.get("id", "VHOME")}, "trigger_id": self._trigger(),
            "view": {**view, "id": view.get("id", "VHOME"), "type": "home", "state": {"values": {}}},
            "actions": [{"type": "button", "action_id": action_id, "block_id": "b", "value": value,
                         "text": {"type": "plain_text", "text": action_id}, "action_ts": f"{time.time():.6f}"}],
        }
        return self._interactive(payload, "block_actions")

    # ---------------------------------------------------------------------------------------------------- views

    @staticmethod
    def view_state(view: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
        """``view.state`` as Slack would send it: every input block, with ``values`` (block_id → value) typed in
        and the initial values kept elsewhere."""
        state: dict[str, dict[str, Any]] = {}
        for block in view.get("blocks", []):
            if block.get("type") != "input":
                continue
            element = block["element"]
            kind = element["type"]
            block_id = block["block_id"]
            given = values.get(block_id, _initial(element))
            entry: dict[str, Any] = {"type": kind}
            if kind in ("plain_text_input", "number_input"):
                entry["value"] = None if given in (None, "") else str(given)
            elif kind == "checkboxes":
                entry["selected_options"] = [o for o in element["options"] if given]
            elif kind == "static_select":
                entry["selected_option"] = _option_for(element, given)
            elif kind == "multi_static_select":
                entry["selected_options"] = [_option_for(element, v) for v in (given or [])]
            elif kind == "datepicker":
                entry["selected_date"] = given
            elif kind == "timepicker":
                entry["selected_time"] = given
            elif kind == "file_input":  # the file objects Slack puts in the state (FakeSlack.attach_file)
                entry["files"] = list(given or [])
            state[block_id] = {element["action_id"]: entry}
        return {"values": state}

    def _view_payload(self, view: dict[str, Any], values: dict[str, Any], *, view_id: str) -> dict[str, Any]:
        return {**view, "id": view_id, "team_id": TEAM_ID, "hash": f"hash-{view_id}",
                "state": self.view_state(view, values), "app_id": APP_ID, "bot_id": "BJOBGATE",
                "root_view_id": view_id, "previous_view_id": None}

    def submit(self, view: dict[str, Any], values: dict[str, Any] | None = None, *, user_id: str,
               view_id: str = "V0MODAL", state: dict[str, Any] | None = None) -> Ack:
        """Submit a modal (the view jobgate opened) with ``values`` typed in (block_id → value), or with ``state``
        sent as ``view.state`` as it is (a submission jobgate cannot read)."""
        submitted = self._view_payload(view, values or {}, view_id=view_id)
        if state is not None:
            submitted["state"] = state
        payload = {
            "type": "view_submission", "team": {"id": TEAM_ID, "domain": "jobgate-test"},
            "user": {"id": user_id, "username": user_id.lower(), "name": user_id.lower(), "team_id": TEAM_ID},
            "api_app_id": APP_ID, "token": "verification-token-unused", "trigger_id": self._trigger(),
            "view": submitted, "response_urls": [],
        }
        return self._interactive(payload, "view_submission")

    def select_in_view(self, view: dict[str, Any], *, block_id: str, action_id: str, value: str, user_id: str,
                       values: dict[str, Any] | None = None, view_id: str = "V0MODAL") -> Ack:
        """Choose an option of a select inside a modal that dispatches actions (the schedule type)."""
        block = next(b for b in view["blocks"] if b.get("block_id") == block_id)
        element = block.get("element") or block["accessory"]  # an input that dispatches, or a section's select
        payload = {
            "type": "block_actions", "team": {"id": TEAM_ID, "domain": "jobgate-test"},
            "user": {"id": user_id, "username": user_id.lower(), "name": user_id.lower(), "team_id": TEAM_ID},
            "api_app_id": APP_ID, "token": "verification-token-unused",
            "container": {"type": "view", "view_id": view_id}, "trigger_id": self._trigger(),
            "view": self._view_payload(view, {**(values or {}), block_id: value}, view_id=view_id),
            "actions": [{"type": "static_select", "action_id": action_id, "block_id": block_id,
                         "selected_option": _option_for(element, value), "action_ts": f"{time.time():.6f}"}],
        }
        return self._interactive(payload, "block_actions")

    def type_in_view(self, view: dict[str, Any], *, block_id: str, action_id: str, value: str, user_id: str,
                     values: dict[str, Any] | None = None, view_id: str = "V0MODAL") -> Ack:
        """Type into a text input of a modal that dispatches actions as it is typed (the crontab)."""
        payload = {
            "type": "block_actions", "team": {"id": TEAM_ID, "domain": "jobgate-test"},
            "user": {"id": user_id, "username": user_id.lower(), "name": user_id.lower(), "team_id": TEAM_ID},
            "api_app_id": APP_ID, "token": "verification-token-unused",
            "container": {"type": "view", "view_id": view_id}, "trigger_id": self._trigger(),
            "view": self._view_payload(view, {**(values or {}), block_id: value}, view_id=view_id),
            "actions": [{"type": "plain_text_input", "action_id": action_id, "block_id": block_id, "value": value,
                         "action_ts": f"{time.time():.6f}"}],
        }
        return self._interactive(payload, "block_actions")

    # --------------------------------------------------------------------------------------------------- events

    def app_home_opened(self, *, user_id: str) -> Ack:
        """The Events API callback for a user opening the Home tab."""
        body = json.dumps({
            "token": "verification-token-unused", "team_id": TEAM_ID, "api_app_id": APP_ID,
            "event": {"type": "app_home_opened", "user": user_id, "channel": "D" + user_id[1:], "tab": "home",
                      "event_ts": f"{time.time():.6f}"},
            "type": "event_callback", "event_id": f"Ev{next(self._ids):08d}", "event_time": int(time.time()),
            "authorizations": [{"team_id": TEAM_ID, "user_id": "UJOBGATEBOT", "is_bot": True}],
        })
        return self.post(body, content_type="application/json", kind="event")


def _initial(element: dict[str, Any]) -> Any:
    for key in ("initial_value", "initial_date", "initial_time"):  # Slack sends a prefilled value as entered
        if key in element:
            return element[key]
    if "initial_option" in element:
        return element["initial_option"]["value"]
    if "initial_options" in element:
        values = [o["value"] for o in element["initial_options"]]
        return bool(values) if element["type"] == "checkboxes" else values
    return None


def _option_for(element: dict[str, Any], value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    for option in element.get("options", []):
        if option["value"] == value:
            return dict(option)
    return {"text": {"type": "plain_text", "text": str(value)}, "value": str(value)}
