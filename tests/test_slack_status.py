"""What ``jobgate serve`` says about Slack, through the real process and the fake Slack Web API: ``/healthz`` reports
Slack connected only once ``auth.test`` succeeded (checked in the background, retried), start-up names the one Slack
credential that is missing, and Bolt's notice about an unused token is not printed."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fake_slack import FakeSlack
from tests.test_serve import Server, open_core, wait_for, workdir

__all__ = ["workdir"]  # the fixture, shared with tests/test_serve.py

SECRET = "0123456789abcdef0123456789abcdef"
TOKEN_NOTICE = "As you gave `client` as well, `token` will be unused."


def test_healthz_says_connected_only_once_auth_test_succeeds_then_names_the_bot_and_no_token_notice_is_printed(
    workdir: Path,
) -> None:
    url = f"sqlite:///{workdir / 'jobgate.db'}"
    core = open_core(url, workdir / "jobs")
    admin = core.services.tokens.create_api_token(user_id="UADMIN", description="health")
    with FakeSlack() as fake:
        fake.fail("auth.test", status=500, times=2)  # Slack in trouble first, then refusing the made-up token
        fake.fail("auth.test", status=200, error="invalid_auth", times=1_000_000)
        server = Server(workdir, {"JOBGATE_DATABASE_URL": url, "SLACK_BOT_TOKEN": "xoxb-made-up",
                                  "SLACK_SIGNING_SECRET": SECRET, "JOBGATE_SLACK_API_URL": fake.url})
        try:
            refused = {"connected": False, "mode": "http", "error": "invalid_auth"}
            wait_for(lambda: server.health()["slack"] == refused, timeout=20, what="auth.test to be refused")
            assert server.health(admin)["slack"] == refused
            assert len(fake.calls_to("auth.test", ok_only=False)) >= 3
            log = server.log.read_text()
            assert "Slack is not connected: auth.test answered http_500; trying again" in log
            assert "Slack is not connected: auth.test answered invalid_auth (check SLACK_BOT_TOKEN)" in log

            fake.clear_failures()  # the token is good from now on: the next retry succeeds
            wait_for(lambda: server.health()["slack"]["connected"] is True, timeout=30,
                     what="a retried auth.test to succeed")
            assert server.health()["slack"] == {"connected": True, "mode": "http"}  # names are internals
            assert server.health(admin)["slack"] == {
                "connected": True, "mode": "http", "bot": "jobgate", "bot_user_id": "UJOBGATEBOT", "team": "Test",
                "team_id": "T0TEST"}
        finally:
            assert server.terminate() == 0
    log = server.log.read_text()
    assert "Slack connected: auth.test accepted the bot token (bot @jobgate in workspace Test)" in log
    assert TOKEN_NOTICE not in log
    assert "Traceback" not in log


def test_healthz_shows_a_slack_that_cannot_be_reached_and_start_up_does_not_wait_for_it(workdir: Path) -> None:
    with FakeSlack() as fake:
        fake.slow("auth.test", 60)  # Slack hangs (past the client's 10 s timeout): start-up and /healthz go on
        server = Server(workdir, {"SLACK_BOT_TOKEN": "xoxb-made-up", "SLACK_SIGNING_SECRET": SECRET,
                                  "JOBGATE_SLACK_API_URL": fake.url})
        try:
            slack = server.health()["slack"]
            assert slack["connected"] is False and slack["mode"] == "http"
            assert slack["error"] in (None, "connection")  # not answered yet, or timed out
        finally:
            assert server.terminate() == 0


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"SLACK_BOT_TOKEN": "xoxb-1"},
         "Slack is not connected: SLACK_SIGNING_SECRET is missing (SLACK_BOT_TOKEN is set); set it to use /jobs over "
         "HTTP, or set SLACK_APP_TOKEN and run `jobgate serve --socket-mode`"),
        ({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1"},
         "Slack is not connected: SLACK_SIGNING_SECRET is missing (SLACK_BOT_TOKEN is set); set it to use /jobs, or "
         "run `jobgate serve --socket-mode` (SLACK_APP_TOKEN is set)"),
        ({"SLACK_SIGNING_SECRET": SECRET},
         "Slack is not connected: SLACK_BOT_TOKEN is missing (SLACK_SIGNING_SECRET is set); set it to use /jobs"),
        ({"SLACK_APP_TOKEN": "xapp-1"},
         "Slack is not connected: SLACK_BOT_TOKEN is missing (SLACK_APP_TOKEN is set); Socket Mode needs both, with "
         "`jobgate serve --socket-mode` (over HTTP: SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET)"),
    ],
)
def test_with_one_slack_credential_start_up_names_the_missing_one_in_one_line(tmp_path: Path, env: dict[str, str],
                                                                             expected: str) -> None:
    server = Server(tmp_path, env)
    assert server.health()["slack"] == {"connected": False, "mode": None}
    assert server.terminate() == 0
    slack_lines = [line for line in server.log.read_text().splitlines() if "Slack" in line or "SLACK_" in line]
    assert len(slack_lines) == 1, slack_lines
    assert slack_lines[0].endswith(f"WARNING jobgate: {expected}")
