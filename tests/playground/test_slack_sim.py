"""The Slack simulator answers as Slack does, called with slack_sdk's own client over HTTP: Slack's limits and errors,
its pace, and the feed of what each person sees (posts, updates in place, ephemeral messages, modals, the Home tab)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.playground.slack_sim import SlackSimulator
from bot.playground.workspace import Reply


@pytest.fixture
def sim() -> Iterator[SlackSimulator]:
    with SlackSimulator(strict=True) as running:
        running.users["UALICE"] = {"real_name": "Alice", "tz": "Europe/Berlin"}
        yield running


@pytest.fixture
def client(sim: SlackSimulator) -> WebClient:
    return WebClient(token="xoxb-test", base_url=sim.url)


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def error_of(call: Any) -> str:
    with pytest.raises(SlackApiError) as raised:
        call()
    return str(raised.value.response["error"])


def test_malformed_or_too_many_blocks_are_invalid_blocks(client: WebClient) -> None:
    assert error_of(lambda: client.chat_postMessage(channel="C1", text="x", blocks=[section("a")] * 51)) == \
        "invalid_blocks"
    assert error_of(lambda: client.chat_postMessage(channel="C1", text="x", blocks=[{"type": "carousel"}])) == \
        "invalid_blocks"
    button = {"type": "button", "text": {"type": "plain_text", "text": "x" * 76}, "action_id": "a"}
    assert error_of(lambda: client.chat_postMessage(channel="C1", text="x",
                                                    blocks=[{"type": "actions", "elements": [button]}])) == \
        "invalid_blocks"
    assert error_of(lambda: client.views_publish(user_id="UALICE", view={"type": "home", "blocks": []})) == \
        "invalid_blocks"
    assert client.chat_postMessage(channel="C1", text="x", blocks=[section("a")] * 50)["ok"]
    words = {"type": "rich_text_section", "elements": [{"type": "text", "text": "rich"}]}
    rich = {"type": "rich_text", "elements": [words]}
    assert client.chat_postMessage(channel="C1", text="x", blocks=[rich])["ok"]


def test_a_text_over_40000_characters_is_msg_too_long(sim: SlackSimulator, client: WebClient) -> None:
    assert error_of(lambda: client.chat_postMessage(channel="C1", text="x" * 40_001)) == "msg_too_long"
    empty = httpx.post(sim.url + "chat.postMessage", json={"channel": "C1"}, headers={"Authorization": "Bearer x"})
    assert empty.json() == {"ok": False, "error": "no_text"}


def test_paced_messages_are_rate_limited_with_retry_after(sim: SlackSimulator, client: WebClient) -> None:
    sim.pace(1.0)
    client.chat_postMessage(channel="C1", text="first")
    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel="C1", text="second, too soon")
    assert raised.value.response.status_code == 429 and raised.value.response["error"] == "ratelimited"
    retry_after = raised.value.response.headers["Retry-After"]
    assert int(retry_after[0] if isinstance(retry_after, list) else retry_after) >= 1
    assert client.chat_postMessage(channel="C2", text="another channel is not held back")["ok"]


def test_what_strict_slack_refuses_for_lack_of_context(client: WebClient) -> None:
    assert error_of(lambda: client.chat_update(channel="C1", ts="1.000001", text="x")) == "message_not_found"
    view = {"type": "modal", "title": {"type": "plain_text", "text": "T"}, "blocks": [section("a")]}
    assert error_of(lambda: client.views_open(trigger_id="never.handed.out", view=view)) == "invalid_trigger_id"
    assert error_of(lambda: client.views_update(view_id="VNONE", view=view)) == "not_found"


def test_the_feed_shows_posts_updates_ephemeral_messages_and_views(sim: SlackSimulator, client: WebClient) -> None:
    posted = client.chat_postMessage(channel="UALICE", text="hello", blocks=[section("*hello*")])
    assert posted["channel"] == "DALICE"  # a user ID: the direct message with the bot
    client.chat_update(channel="DALICE", ts=posted["ts"], text="hello again", blocks=[section("again")])
    client.chat_postEphemeral(channel="C1", user="UALICE", text="psst")
    sim.workspace.remember_trigger("t1", "UALICE")
    view = {"type": "modal", "title": {"type": "plain_text", "text": "T"}, "blocks": [section("a")]}
    opened = client.views_open(trigger_id="t1", view=view)["view"]
    with pytest.raises(SlackApiError) as stale:
        client.views_update(view_id=opened["id"], hash="stale", view=view)
    assert stale.value.response["error"] == "hash_conflict"
    client.views_update(view_id=opened["id"], hash=opened["hash"], view={**view, "blocks": [section("b")]})
    client.views_publish(user_id="UALICE", view={"type": "home", "blocks": [section("home")]})
    kinds = [(e["kind"], e.get("channel") or e.get("user")) for e in sim.workspace.since(0)]
    assert kinds == [("message", "DALICE"), ("update", "DALICE"), ("message", "C1"), ("view_open", "UALICE"),
                     ("view_update", "UALICE"), ("home", "UALICE")]
    events = sim.workspace.since(0)
    assert events[2]["only_for"] == "UALICE"
    assert sim.workspace.message("DALICE", posted["ts"])["text"] == "hello again"  # type: ignore[index]


def test_response_urls_answer_where_the_person_acted(sim: SlackSimulator) -> None:
    sim.workspace.post(channel="C1", ts="1.000001", text="the card", blocks=[])
    url = sim.response_url("click", reply=Reply(channel="C1", user="UBOB", message_ts="1.000001"))
    assert httpx.post(url, json={"text": "just for Bob"}).status_code == 200
    assert httpx.post(url, json={"text": "the card, decided", "replace_original": True}).status_code == 200
    assert httpx.post(url, json={"text": "x", "blocks": [{"type": "nope"}]}).status_code == 400
    events = sim.workspace.since(1)
    assert (events[0]["kind"], events[0]["only_for"], events[0]["text"]) == ("message", "UBOB", "just for Bob")
    assert (events[1]["kind"], events[1]["ts"], events[1]["text"]) == ("update", "1.000001", "the card, decided")
    assert len(events) == 2


def test_a_file_attached_in_a_modal_is_described_by_files_info_and_downloaded_with_a_bot_token_only(
        sim: SlackSimulator, client: WebClient) -> None:
    attached = sim.attach_file("core1.cfg", b"hostname core1\n")
    described = client.files_info(file=attached["id"])["file"]
    assert (described["name"], described["size"], described["mimetype"]) == ("core1.cfg", 15, "text/plain")
    url = described["url_private_download"]
    assert httpx.get(url, headers={"Authorization": "Bearer xoxb-test"}).content == b"hostname core1\n"
    assert httpx.get(url, headers={"Authorization": "Bearer xoxp-a-user"}).status_code == 404
    assert httpx.get(url).status_code == 404
    sim.bot_token = "xoxb-the-app"
    assert httpx.get(url, headers={"Authorization": "Bearer xoxb-test"}).status_code == 404
    assert httpx.get(url, headers={"Authorization": "Bearer xoxb-the-app"}).status_code == 200
    assert error_of(lambda: client.files_info(file="F0DELETED")) == "file_not_found"
    assert [c.status for c in sim.calls_to("file_download", ok_only=False)] == [200, 404, 404, 404, 200]
