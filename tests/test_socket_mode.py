"""``jobgate serve --socket-mode`` as a real process, with Slack's side faked on 127.0.0.1: the Web API
(``tests.fake_slack``, which answers ``apps.connections.open`` with the WebSocket URL) and the Socket Mode server
(``tests.fake_socket_mode``, a real WebSocket server).

Slack traffic reaches jobgate only over the WebSocket, as envelopes; each must be acked on the same socket with the
same ``envelope_id``, and whatever the ack carries in its ``payload`` is the answer Slack shows. Every wait has a
deadline on a condition (a connection, an ack, a recorded Web API call, a job's state), never a fixed sleep.
"""

from __future__ import annotations

import itertools
import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.services import Services
from tests.conftest import ADMIN, FIXTURE_JOBS, POLICY_YAML
from tests.fake_slack import FakeSlack, text_of
from tests.fake_socket_mode import FakeSocketMode
from tests.slack_requests import APP_ID, TEAM_ID, SlackActions
from tests.test_serve import Server, open_core, wait_for

ACK_DEADLINE = 3.0
"""Slack's deadline for an ack, in seconds: the same in Socket Mode as over HTTP."""
_trigger_ids = itertools.count(1)


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    shutil.copytree(FIXTURE_JOBS, tmp_path / "jobs", ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "policy.yml").write_text(POLICY_YAML)
    return tmp_path


@pytest.fixture
def services(workdir: Path) -> Iterator[Services]:
    """The services over the server's database (test jobs synced and enabled), to read outcomes."""
    core = open_core(f"sqlite:///{workdir / 'jobgate.db'}", workdir / "jobs")
    yield core.services
    core.db.dispose()


@pytest.fixture
def slack() -> Iterator[tuple[FakeSlack, FakeSocketMode]]:
    """The fake Web API and the fake Socket Mode server it points ``apps.connections.open`` at."""
    with FakeSlack() as fake, FakeSocketMode() as socket_mode:
        fake.socket_mode_url = socket_mode.url
        yield fake, socket_mode


@pytest.fixture
def server(workdir: Path, services: Services, slack: tuple[FakeSlack, FakeSocketMode]) -> Iterator[Server]:
    """``jobgate serve --socket-mode``, started once the fakes are up; stopped with SIGTERM if a test did not."""
    fake, _socket_mode = slack
    env = {"JOBGATE_DATABASE_URL": f"sqlite:///{workdir / 'jobgate.db'}", "SLACK_BOT_TOKEN": "xoxb-test",
           "SLACK_SIGNING_SECRET": "not-used-in-socket-mode", "SLACK_APP_TOKEN": "xapp-test",
           "JOBGATE_SLACK_API_URL": fake.url}
    process = Server(workdir, env, "--socket-mode")
    yield process
    if process.process.poll() is None:
        process.terminate()


def slash_command(fake: FakeSlack, text: str, *, user_id: str, channel_id: str = "C0GENERAL") -> dict[str, str]:
    """A slash command's payload as Slack puts it in a Socket Mode envelope: the HTTP form's fields, as a dict."""
    return {
        "token": "verification-token-unused", "team_id": TEAM_ID, "team_domain": "jobgate-test",
        "channel_id": channel_id, "channel_name": "general", "user_id": user_id, "user_name": user_id.lower(),
        "command": "/jobs", "text": text, "api_app_id": APP_ID, "is_enterprise_install": "false",
        "response_url": fake.response_url("cmd"), "trigger_id": f"{next(_trigger_ids)}.{int(time.time())}.trigger",
    }


def view_submission(view: dict[str, Any], *, user_id: str, view_id: str = "V0RUN") -> dict[str, Any]:
    """The ``interactive`` payload of a modal submitted as opened (initial values kept)."""
    return {
        "type": "view_submission", "team": {"id": TEAM_ID, "domain": "jobgate-test"},
        "user": {"id": user_id, "username": user_id.lower(), "name": user_id.lower(), "team_id": TEAM_ID},
        "api_app_id": APP_ID, "token": "verification-token-unused",
        "trigger_id": f"{next(_trigger_ids)}.{int(time.time())}.trigger", "response_urls": [],
        "view": {**view, "id": view_id, "team_id": TEAM_ID, "hash": f"hash-{view_id}", "app_id": APP_ID,
                 "state": SlackActions.view_state(view, {}), "bot_id": "BJOBGATE", "root_view_id": view_id,
                 "previous_view_id": None},
    }


def connected(server: Server, socket_mode: FakeSocketMode) -> None:
    """Wait (with a deadline) until the server's Socket Mode client is connected; fail at once if it died."""
    wait_for(lambda: server.healthy() and socket_mode.connected, timeout=15,
             what=f"the Socket Mode client to connect ({server.log})")
    wait_for(lambda: server.health()["slack"] == {"connected": True, "mode": "socket"}, timeout=15,
             what="auth.test to succeed")


def stop(server: Server, socket_mode: FakeSocketMode) -> None:
    """SIGTERM: the server exits 0, drops the WebSocket, and logged no traceback."""
    assert server.terminate() == 0, server.log.read_text()
    socket_mode.wait_for_disconnect(timeout=10)
    log = server.log.read_text()
    assert "Traceback" not in log, log
    assert "Slack connected over Socket Mode" in log


def nothing_stored(services: Services) -> bool:
    return (services.listings.list_scheduled_jobs(ADMIN).count == 0
            and services.listings.list_job_results(ADMIN).count == 0)


# ------------------------------------------------------------------------------------------------------- tests


def test_over_socket_mode_envelopes_are_acked_on_the_websocket_and_the_work_gets_done(
    server: Server, services: Services, slack: tuple[FakeSlack, FakeSocketMode],
) -> None:
    fake, socket_mode = slack
    connected(server, socket_mode)
    opened = fake.calls_to("apps.connections.open")
    assert len(opened) == 1 and opened[0].response["url"] == socket_mode.url  # asked with the app-level token
    assert socket_mode.connections == 1
    # Slack's traffic comes over the WebSocket only: no HTTP endpoint for it is served.
    assert httpx.post(f"{server.url}/slack/events", content=b"{}", timeout=5).status_code == 404

    # /jobs run JOB --now: an empty ack at once, the run starts, and the requester is told privately and by DM.
    envelope = socket_mode.push("slash_commands", slash_command(fake, "run testjobs.TestPass --now", user_id="UALICE"))
    ack = socket_mode.wait_for_ack(envelope)
    assert ack.message == {"envelope_id": envelope} and ack.payload is None
    assert ack.elapsed < ACK_DEADLINE
    started = fake.wait_for("response_url", count=1, timeout=10)[0]
    assert started.params["response_type"] == "ephemeral" and "started" in text_of(started)
    dms = fake.wait_for("chat.postMessage", count=1, timeout=20)
    assert dms[0].params["channel"] in ("UALICE", "DALICE")
    assert "Test pass" in text_of(dms[0]) and "ompleted" in text_of(dms[0])
    results = services.listings.list_job_results(ADMIN).items
    assert len(results) == 1 and results[0].user_id == "UALICE" and results[0].status == "completed"

    # /jobs list: acked empty, answered privately through response_url.
    envelope = socket_mode.push("slash_commands", slash_command(fake, "list", user_id="UALICE"))
    ack = socket_mode.wait_for_ack(envelope)
    assert ack.payload is None and ack.elapsed < ACK_DEADLINE
    listing = fake.wait_for("response_url", count=2, timeout=10)[-1]
    assert listing.params["response_type"] == "ephemeral"
    assert "testjobs.TestPass" in text_of(listing) and "testjobs.ApprovalJob" in text_of(listing)

    # /jobs help: the answer travels in the ack's payload (JSON with blocks).
    envelope = socket_mode.push("slash_commands", slash_command(fake, "help", user_id="UALICE"))
    ack = socket_mode.wait_for_ack(envelope)
    assert ack.payload is not None and ack.payload["response_type"] == "ephemeral"
    assert "How to use" in ack.payload["text"] and ack.payload["blocks"]

    # /jobs run JOB opens the run modal; submitting it arrives as an "interactive" envelope whose ack carries the
    # modal's update, and the run starts.
    envelope = socket_mode.push("slash_commands", slash_command(fake, "run testjobs.TestPass", user_id="UALICE"))
    assert socket_mode.wait_for_ack(envelope).payload is None
    opened_view = fake.wait_for("views.open", count=1, timeout=10)[0].params["view"]
    modal = json.loads(opened_view) if isinstance(opened_view, str) else dict(opened_view)
    envelope = socket_mode.push("interactive", view_submission(modal, user_id="UALICE"))
    ack = socket_mode.wait_for_ack(envelope)
    assert ack.elapsed < ACK_DEADLINE
    assert ack.payload is not None and ack.payload["response_action"] == "update", ack.payload
    assert ack.payload["view"]["title"]["text"] == "Done"
    wait_for(lambda: services.listings.list_job_results(ADMIN).count == 2, timeout=10, what="the modal's run to start")
    fake.wait_for("chat.postMessage", count=2, timeout=20)

    stop(server, socket_mode)


def test_over_socket_mode_a_bad_command_is_refused_privately_in_the_ack_and_nothing_is_stored(
    server: Server, services: Services, slack: tuple[FakeSlack, FakeSocketMode],
) -> None:
    fake, socket_mode = slack
    connected(server, socket_mode)

    envelope = socket_mode.push("slash_commands", slash_command(fake, "frobnicate", user_id="UALICE"))
    ack = socket_mode.wait_for_ack(envelope)
    assert ack.envelope_id == envelope and ack.elapsed < ACK_DEADLINE
    assert ack.payload is not None and ack.payload["response_type"] == "ephemeral"
    assert "`frobnicate` is not a `/jobs` command" in ack.payload["text"]
    assert "`frobnicate` is not a `/jobs` command" in json.dumps(ack.payload["blocks"])
    assert fake.calls_to("response_url") == [] and fake.calls_to("chat.postMessage") == []
    assert nothing_stored(services)

    stop(server, socket_mode)


def test_when_slack_asks_it_to_reconnect_it_opens_a_new_connection_and_keeps_answering(
    server: Server, slack: tuple[FakeSlack, FakeSocketMode],
) -> None:
    fake, socket_mode = slack
    connected(server, socket_mode)

    socket_mode.disconnect("refresh_requested")  # Slack does this every few hours
    socket_mode.wait_for_connections(2, timeout=15)
    assert len(fake.wait_for("apps.connections.open", count=2, timeout=5)) == 2  # a fresh URL for the new socket
    envelope = socket_mode.push("slash_commands", slash_command(fake, "help", user_id="UBOB"))
    ack = socket_mode.wait_for_ack(envelope, timeout=15)
    assert ack.payload is not None and "How to use" in ack.payload["text"]

    stop(server, socket_mode)


def test_across_a_refresh_every_envelope_is_acked_on_the_old_and_the_new_connection(
    server: Server, slack: tuple[FakeSlack, FakeSocketMode],
) -> None:
    fake, socket_mode = slack
    connected(server, socket_mode)
    sent: dict[str, float] = {}

    def burst(count: int, on: str) -> None:
        for i in range(count):
            sent[socket_mode.push("slash_commands", slash_command(fake, "help", user_id=f"UBURST{i}"), on=on)] = 0

    socket_mode.disconnect("refresh_requested")  # Slack does this every few hours ...
    burst(5, "oldest")  # ... and keeps delivering on the old connection until it closes it
    socket_mode.wait_for_connections(2, timeout=15)
    burst(5, "newest")  # right after the refresh, on the new connection
    first_new = next(reversed(sent))
    socket_mode.wait_for_ack(first_new, timeout=15)
    burst(5, "oldest")  # the old connection is still Slack's to close, and still answered
    socket_mode.close_oldest()  # as Slack does, a few seconds after the refresh
    wait_for(lambda: socket_mode.open_connections == 1, timeout=10, what="the old connection to close")
    burst(5, "newest")

    acks = [socket_mode.wait_for_ack(envelope_id, timeout=15) for envelope_id in sent]
    assert all(ack.payload is not None and "How to use" in ack.payload["text"] for ack in acks)
    assert [m["envelope_id"] for m in socket_mode.received if "envelope_id" in m].count(first_new) == 1
    assert socket_mode.connections == 2  # one refresh, one new connection: no reconnect storm
    print(f"refresh: slowest of {len(acks)} acks {max(a.elapsed for a in acks):.3f} s "
          f"(Slack's deadline {ACK_DEADLINE} s)")

    stop(server, socket_mode)


def test_a_connection_that_drops_without_warning_is_replaced_and_answering_goes_on(
    server: Server, slack: tuple[FakeSlack, FakeSocketMode],
) -> None:
    fake, socket_mode = slack
    connected(server, socket_mode)

    socket_mode.close_oldest()  # no disconnect message first: a network failure, or Slack restarting
    socket_mode.wait_for_connections(2, timeout=15)
    envelope = socket_mode.push("slash_commands", slash_command(fake, "help", user_id="UBOB"))
    ack = socket_mode.wait_for_ack(envelope, timeout=15)
    assert ack.payload is not None and "How to use" in ack.payload["text"]

    stop(server, socket_mode)
