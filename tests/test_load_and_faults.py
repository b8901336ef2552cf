"""Load with faults: 200 mixed Slack and REST API requests while the database is unavailable for 5 s and Slack's Web
API answers 500 and 429 for 10 s.

Afterwards: every request was answered (no hang: each got its normal answer, or 503 / Slack's "cannot reach its
database" message), every notification was delivered once and in order, no run was lost or doubled, and
``/healthz`` reported the outage as JSON. Runs on SQLite (another connection holds ``BEGIN EXCLUSIVE``; jobgate's
writers give up after a short busy timeout) and on PostgreSQL (jobgate connects through a TCP proxy that is cut; the
shared server itself is never touched), with the ``outage`` fixture of ``tests/conftest.py``.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx2 as httpx
import pytest

from bot.app import build_app
from bot.config import Settings
from bot.domain.permissions import Policy
from bot.domain.short_ids import short
from bot.executor.local import LocalExecutor
from bot.notifier import Notifier
from bot.services import utcnow
from bot.slack import build_bolt_app, build_client
from bot.slack_gate import slack_installer
from handlers.api import install as install_api
from storage.db import Database
from storage.repositories import Repositories
from tests.conftest import ALICE, BOB, Outage, build_test_core
from tests.fake_slack import FakeSlack, text_of, wait_until
from tests.slack.conftest import APPROVAL_CHANNEL, APPROVER_GROUP, SIGNING_SECRET, USERS
from tests.slack_requests import SlackActions, serve

REQUESTS = 200
SPREAD = 10.0
"""Seconds over which the requests are sent."""
DB_OUTAGE = (2.0, 5.0)
"""(start, length) in seconds from the first request."""
SLACK_OUTAGE = (1.0, 10.0)
ANSWER_TIMEOUT = 25.0
"""A request not answered within this is a hang."""
DB_DOWN_WORDS = "cannot reach its database"


@dataclass
class Outcome:
    """What one request got."""

    kind: str
    status: int | None = None
    body: Any = None
    error: str | None = None
    response_url: str | None = None


@pytest.fixture
def jobgate_db(outage: Outage) -> tuple[Database, Callable[[], threading.Thread]]:
    """The database jobgate uses, and how to make it unavailable for DB_OUTAGE[1] seconds (in the background)."""

    def make_outage() -> threading.Thread:
        cut = threading.Event()

        def hold() -> None:  # cut and restore in one thread: SQLite's holding connection belongs to it
            outage.cut()
            cut.set()
            try:
                time.sleep(DB_OUTAGE[1])
            finally:
                outage.restore()

        thread = threading.Thread(target=hold, name="database-outage", daemon=True)
        thread.start()
        cut.wait(10)
        return thread

    return outage.db, make_outage


def test_load_with_a_database_outage_and_a_slack_outage(jobgate_db: tuple[Database, Callable[[], threading.Thread]],
                                                       database: Database, jobs_dir: Path, policy: Policy,
                                                       database_url: str) -> None:
    db, make_db_outage = jobgate_db
    with FakeSlack() as fake:
        fake.users.update({**USERS})
        fake.usergroups["net-approvers"] = ("S0NETAPP", list(APPROVER_GROUP))
        settings = Settings(
            database_url=database_url, jobs_paths=(jobs_dir,), time_zone="UTC", slack_bot_token="xoxb-test-token",
            slack_signing_secret=SIGNING_SECRET, slack_api_url=fake.url, approval_channel=APPROVAL_CHANNEL,
        )
        core = build_test_core(db, settings, policy, clock=utcnow)
        services = core.services
        tokens = {user.user_id: services.tokens.create_api_token(user_id=user.user_id) for user in (ALICE, BOB)}
        bolt_app = build_bolt_app(settings, services)
        app = build_app(settings=settings, services=services, db=core.db,
                        installers=(slack_installer(bolt_app, signing_secret=SIGNING_SECRET), install_api))
        notifier = Notifier(core.db, build_client(settings, retries=False), clock=utcnow, poll_interval=0.2)
        with serve(app) as base_url:
            slack = SlackActions(base_url=base_url, signing_secret=SIGNING_SECRET, fake=fake)
            client = httpx.Client(base_url=base_url, timeout=ANSWER_TIMEOUT)
            try:
                notifier.start()
                outcomes, health = _load(client, slack, fake, tokens, make_db_outage)
                # Recovery: every notification goes out once the database and Slack are back.
                wait_until(lambda: not fake.in_outage() and notifier.pending() == 0, timeout=45, interval=0.2)
            finally:
                notifier.stop()
                client.close()
                slack.close()

        statuses = {call.status for call in fake.calls}
        assert {500, 429} <= statuses, "Slack's outage was not met"
        _every_request_was_answered(outcomes, fake)
        _notifications_went_out_once_and_in_order(database, fake)
        _no_run_was_lost_or_doubled(database, core, outcomes)
        _healthz_reported_the_outage(health, sqlite=database_url.startswith("sqlite"))


# ---------------------------------------------------------------------------------------------------------- load


def _load(client: httpx.Client, slack: SlackActions, fake: FakeSlack, tokens: dict[str, str],
          make_db_outage: Callable[[], threading.Thread]) -> tuple[list[Outcome], list[tuple[float, int, Any]]]:
    """Send the mixed requests, start the outages on time, and poll ``/healthz`` throughout."""
    users = itertools.cycle(["UALICE", "UBOB"])
    kinds = (["api-run"] * 20 + ["api-approval"] * 10 + ["api-list"] * 60 + ["slack-list"] * 30
             + ["slack-queue"] * 30 + ["slack-results"] * 30 + ["slack-scheduled"] * 20)
    assert len(kinds) == REQUESTS
    order = [kinds[(i * 7) % REQUESTS] for i in range(REQUESTS)]  # mixed, every kind spread over the run
    assert sorted(order) == sorted(kinds)
    health: list[tuple[float, int, Any]] = []
    done = threading.Event()

    def poll_health() -> None:
        while not done.is_set():
            try:
                response = client.get("/healthz")
                body = response.json() if response.headers.get("content-type", "").startswith("application/json") \
                    else response.text
                health.append((time.monotonic() - started, response.status_code, body))
            except httpx.HTTPError as exc:
                health.append((time.monotonic() - started, 0, repr(exc)))
            done.wait(0.25)

    def send(index: int, kind: str, user: str) -> Outcome:
        headers = {"Authorization": f"Token {tokens[user]}", "Accept": "application/json"}
        try:
            if kind == "api-run":
                response = client.post("/api/extras/jobs/testjobs.TestPass/run/", headers=headers, json={"data": {}})
            elif kind == "api-approval":
                body = {"data": {}, "schedule": {"name": f"load-{index:03d}", "interval": "immediately"}}
                response = client.post("/api/extras/jobs/testjobs.ApprovalJob/run/", headers=headers, json=body)
            elif kind == "api-list":
                path = ("/api/extras/scheduled-jobs/", "/api/extras/job-results/", "/api/extras/jobs/")[index % 3]
                response = client.get(path, headers=headers)
            else:
                command = kind.removeprefix("slack-")
                response_url = fake.response_url(f"load{index:03d}")
                body_text = urlencode({
                    "token": "unused", "team_id": "T0TEST", "team_domain": "jobgate-test", "channel_id": "C0GENERAL",
                    "channel_name": "general", "user_id": user, "user_name": user.lower(), "command": "/jobs",
                    "text": command, "api_app_id": "A0JOBGATE", "is_enterprise_install": "false",
                    "response_url": response_url, "trigger_id": f"{index}.{int(time.time())}.trigger",
                })
                ack = slack.post(body_text, content_type="application/x-www-form-urlencoded", kind="command")
                return Outcome(kind, ack.status, ack.json, response_url=response_url)
            body = response.json() if response.content else None
            return Outcome(kind, response.status_code, body)
        except httpx.HTTPError as exc:
            return Outcome(kind, error=repr(exc))

    started = time.monotonic()
    poller = threading.Thread(target=poll_health, name="healthz-poller", daemon=True)
    poller.start()
    outages: list[threading.Thread] = []
    futures = []
    with ThreadPoolExecutor(max_workers=16) as pool:
        for index, kind in enumerate(order):
            at = started + index * SPREAD / REQUESTS
            now = time.monotonic()
            if not fake.in_outage() and not outages and now - started >= SLACK_OUTAGE[0]:
                fake.outage(SLACK_OUTAGE[1], retry_after=1)
                outages.append(threading.current_thread())
            if len(outages) == 1 and now - started >= DB_OUTAGE[0]:
                outages.append(make_db_outage())
            if at > now:
                time.sleep(at - now)  # pacing the sender, not waiting for a result
            futures.append(pool.submit(send, index, kind, next(users)))
        outcomes = [future.result(timeout=ANSWER_TIMEOUT + 5) for future in futures]
    for outage in outages[1:]:
        outage.join(DB_OUTAGE[1] + 5)
    done.set()
    poller.join(ANSWER_TIMEOUT)
    assert len(outages) == 2, "the outages did not start"
    return outcomes, health


# ---------------------------------------------------------------------------------------------------- assertions


def _every_request_was_answered(outcomes: list[Outcome], fake: FakeSlack) -> None:
    assert len(outcomes) == REQUESTS
    hung = [o for o in outcomes if o.error is not None]
    assert hung == [], f"{len(hung)} requests got no answer: {hung[:3]}"
    unexpected = []
    for outcome in outcomes:
        if outcome.kind.startswith("api-"):
            normal = 201 if outcome.kind in ("api-run", "api-approval") else 200
            unavailable = outcome.status == 503 and isinstance(outcome.body, dict) and "detail" in outcome.body
            if outcome.status != normal and not unavailable:
                unexpected.append((outcome.kind, outcome.status, outcome.body))
        elif outcome.status != 200:
            unexpected.append((outcome.kind, outcome.status, outcome.body))
    assert unexpected == [], f"{len(unexpected)} unexpected answers, e.g. {unexpected[:3]}"
    assert any(o.status == 503 for o in outcomes), "no request met the database outage"
    # Each Slack command's answer arrives through its response_url: its listing, or the database message.
    paths = {o.response_url.split("/response/", 1)[1]: o for o in outcomes if o.response_url}

    def answered() -> bool:
        seen = {c.path.removeprefix("/response/") for c in fake.calls_to("response_url")}
        return set(paths) <= seen

    wait_until(answered, timeout=ANSWER_TIMEOUT, interval=0.1)
    for call in fake.calls_to("response_url"):
        name = call.path.removeprefix("/response/")
        if name in paths:
            text = text_of(call)
            assert call.params.get("response_type") == "ephemeral", text
            assert ("went wrong" not in text.lower() and "error" not in text.lower()) or DB_DOWN_WORDS in text, text


def _healthz_reported_the_outage(health: list[tuple[float, int, Any]], *, sqlite: bool) -> None:
    assert health, "/healthz was never answered"
    not_json = [h for h in health if not isinstance(h[2], dict)]
    assert not_json == [], f"/healthz answered without JSON: {not_json[:3]}"
    assert health[-1][1] == 200, "/healthz did not recover"
    if sqlite:
        # A lock held by another connection stops writers only: in WAL mode readers, and /healthz, still read.
        assert {h[1] for h in health} <= {200, 503}
        return
    start, length = DB_OUTAGE
    during = [h for h in health if start + 0.5 <= h[0] <= start + length - 0.5]
    down = [h for h in during if h[1] == 503 and h[2].get("database", {}).get("ok") is False]
    assert down, f"/healthz did not report the outage; answers during it: {[(round(t, 1), s) for t, s, _ in during]}"


def _notifications_went_out_once_and_in_order(database: Database, fake: FakeSlack) -> None:
    with database.read() as session:
        entries = Repositories(session).outbox.list_recent(limit=100_000)
        assert entries, "no notification was written"
        assert {e.status for e in entries} == {"sent"}, [(e.id, e.kind, e.status, e.error) for e in entries
                                                         if e.status != "sent"]
        requested = [(e.payload["scheduled_job_id"]) for e in entries
                     if e.kind == "approval_request" and e.channel == APPROVAL_CHANNEL]
    posts = [c for c in fake.calls_to("chat.postMessage") if c.params.get("channel") == APPROVAL_CHANNEL
             and not c.params.get("thread_ts")]
    posted = [next((sj for sj in requested if short(sj) in text_of(call)), text_of(call)[:60]) for call in posts]
    assert posted == requested, "approval requests were not posted once each, in the order they were made"
    top_level = [(c.params.get("channel"), text_of(c)) for c in fake.calls_to("chat.postMessage")
                 if not c.params.get("thread_ts")]
    assert len(top_level) == len(set(top_level)), "a notification was delivered twice"


def _no_run_was_lost_or_doubled(database: Database, core: Any, outcomes: list[Outcome]) -> None:
    accepted = sorted(o.body["job_result"]["id"] for o in outcomes if o.kind == "api-run" and o.status == 201)
    assert accepted, "no run was accepted"
    stored = _stored_runs(database)
    assert stored == accepted, "a run that was answered 201 is missing, or one that was not is stored"
    executor = LocalExecutor(core.db, core.catalog, core.handover, workers=2,
                             default_time_limit=timedelta(minutes=1), clock=utcnow)
    executor.start(claiming=False)
    try:
        ran = executor.run_pending(now=utcnow())
    finally:
        executor.stop(timedelta(0))
    assert sorted(r.job_result_id for r in ran) == accepted, "each accepted run runs exactly once"
    assert {r.status.value for r in ran} == {"completed"}
    assert _stored_runs(database) == accepted


def _stored_runs(database: Database) -> list[str]:
    with database.read() as session:
        return sorted(r.id for r in Repositories(session).job_results.list_page(limit=100_000, offset=0).items)
