"""``manifest.yml`` is valid for Slack (its official JSON Schema, vendored in tests/schemas) and in step with the
listeners the code registers: the slash command, interactivity, and the bot events."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from slack_bolt import App, BoltRequest, BoltResponse

import handlers
from handlers import ids

ROOT = Path(__file__).parent.parent
SCHEMA = Path(__file__).parent / "schemas" / "slack-app-manifest.schema.1.0.0.json"


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    return dict(yaml.safe_load((ROOT / "manifest.yml").read_text(encoding="utf-8")))


def errors(document: dict[str, Any]) -> list[str]:
    validator = jsonschema.Draft7Validator(json.loads(SCHEMA.read_text(encoding="utf-8")))
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]


def socket_mode_variant(manifest: dict[str, Any]) -> dict[str, Any]:
    """The Socket Mode switch described at the top of manifest.yml."""
    variant = copy.deepcopy(manifest)
    variant["settings"]["socket_mode_enabled"] = True
    for command in variant["features"]["slash_commands"]:
        command.pop("url")
    variant["settings"]["event_subscriptions"].pop("request_url")
    variant["settings"]["interactivity"].pop("request_url")
    return variant


def test_manifest_is_valid_for_slack(manifest: dict[str, Any]) -> None:
    assert errors(manifest) == []


def test_the_socket_mode_variant_is_valid_too(manifest: dict[str, Any]) -> None:
    assert errors(socket_mode_variant(manifest)) == []


def test_the_schema_catches_mistakes(manifest: dict[str, Any]) -> None:
    broken = copy.deepcopy(manifest)
    broken["features"]["slash_commands"][0]["command"] = "jobs"
    broken["settings"]["interactivity"].pop("is_enabled")
    assert len(errors(broken)) >= 2


def test_every_url_points_at_the_one_endpoint(manifest: dict[str, Any]) -> None:
    urls = [c["url"] for c in manifest["features"]["slash_commands"]]
    urls += [manifest["settings"]["event_subscriptions"]["request_url"],
             manifest["settings"]["interactivity"]["request_url"]]
    assert set(urls) == {"https://jobgate.example.com/slack/events"}


SCOPES_OF_METHODS = {
    "chat.postMessage": "chat:write", "chat.update": "chat:write", "chat.postEphemeral": "chat:write",
    "users.info": "users:read", "usergroups.list": "usergroups:read", "usergroups.users.list": "usergroups:read",
    "conversations.open": "im:write",
    "files.getUploadURLExternal": "files:write", "files.completeUploadExternal": "files:write",
    "files.info": "files:read",  # and the download of a file attached in the run modal
}
"""The Web API methods jobgate calls with the bot token, and the scope Slack requires for each."""


def test_the_bot_scopes_allow_every_method_jobgate_calls(manifest: dict[str, Any]) -> None:
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert {method: scope for method, scope in SCOPES_OF_METHODS.items() if scope not in scopes} == {}


def registered() -> App:
    app = App(signing_secret="unused", token="xoxb-unused", token_verification_enabled=False)
    handlers.register(app)
    return app


def test_manifest_matches_the_registered_listeners(manifest: dict[str, Any]) -> None:
    app = registered()
    assert [c["command"] for c in manifest["features"]["slash_commands"]] == [ids.COMMAND]
    assert manifest["settings"]["event_subscriptions"]["bot_events"] == list(ids.EVENTS)
    assert manifest["settings"]["interactivity"]["is_enabled"] is (bool(ids.ACTION_IDS) or bool(ids.CALLBACK_IDS))
    assert manifest["features"]["app_home"]["home_tab_enabled"] is ("app_home_opened" in ids.EVENTS)
    kinds = _registered_kinds(app)
    assert kinds["command"] == {ids.COMMAND}
    assert kinds["action"] == set(ids.ACTION_IDS)
    assert kinds["view"] == set(ids.CALLBACK_IDS)
    assert kinds["event"] == set(ids.EVENTS)


def _registered_kinds(app: App) -> dict[str, set[str]]:
    """Probe the listeners with a minimal payload of every kind and ID jobgate knows, plus unknown ones: the IDs
    some listener matches, by kind."""
    probes: dict[str, list[tuple[str, dict[str, Any]]]] = {
        "command": [(c, {"command": c, "text": "", "user_id": "U1", "team_id": "T1"})
                    for c in (ids.COMMAND, "/other")],
        "action": [(a, {"type": "block_actions", "user": {"id": "U1"}, "team": {"id": "T1"},
                        "actions": [{"action_id": a, "block_id": "b", "type": "button"}]})
                   for a in (*ids.ACTION_IDS, "unknown_action")],
        "view": [(v, {"type": "view_submission", "user": {"id": "U1"}, "team": {"id": "T1"},
                      "view": {"type": "modal", "callback_id": v}}) for v in (*ids.CALLBACK_IDS, "unknown_view")],
        "event": [(e, {"type": "event_callback", "team_id": "T1", "event": {"type": e, "user": "U1"}})
                  for e in (*ids.EVENTS, "message", "reaction_added")],
    }
    found: dict[str, set[str]] = {kind: set() for kind in probes}
    for kind, cases in probes.items():
        for name, body in cases:
            request = BoltRequest(body=body, mode="socket_mode")
            response = BoltResponse(status=200)
            if any(listener.matches(req=request, resp=response) for listener in app._listeners):
                found[kind].add(name)
    return found
