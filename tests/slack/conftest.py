"""The Slack stack for scenario tests: the real app (FastAPI + Bolt, served by uvicorn on 127.0.0.1), a real
database (SQLite file, and PostgreSQL when configured), the real services with a clock the test moves, the notifier
driven pass by pass, and a fake Slack Web API that records every call.

After every test, every recorded Web API call and every ack is checked against Slack's limits. When
``JOBGATE_SLACK_RECORD`` names a directory, the payloads are also written there for ``tests/typecheck/run.py``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.app import Core, build_app
from bot.config import Settings
from bot.domain.errors import DatabaseUnavailableError
from bot.domain.permissions import Policy
from bot.domain.policy_file import parse_policy
from bot.executor.local import LocalExecutor
from bot.notifier import Notifier
from bot.scheduler import Dispatcher
from bot.services import Services
from bot.slack import build_bolt_app, build_client
from bot.slack_gate import slack_installer
from storage.db import Database
from tests.conftest import ADMIN, NOW, POLICY_YAML, build_test_core
from tests.fake_slack import Call, FakeSlack, text_of
from tests.slack.limits import check_ack, check_call
from tests.slack_requests import SlackActions, serve

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
APPROVAL_CHANNEL = "C0APPROVALS"
APPROVER_GROUP = [f"UGRP{i:02d}" for i in range(1, 14)]
USERS = {
    "UALICE": {"tz": "Europe/Berlin"},
    "UBOB": {"tz": "America/New_York"},
    "UAPPROVER": {"tz": "UTC"},
    "UAPPROVER2": {"tz": "Asia/Tokyo"},
    "UADMIN": {"tz": "UTC"},
    "UNOBODY": {"tz": "UTC"},
    "UVIEWER": {"tz": "UTC"},
    "UOWNER": {"tz": "UTC"},
    "USCHEDULER": {"tz": "UTC"},
    **{u: {"tz": "UTC"} for u in APPROVER_GROUP},
}


class Clock:
    """The services' clock: starts at ``NOW`` and moves only when a test moves it."""

    def __init__(self, start: datetime = NOW) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> datetime:
        self.now += timedelta(**kwargs)
        return self.now


@dataclass
class Stack:
    """Everything a Slack scenario touches."""

    core: Core
    services: Services
    fake: FakeSlack
    slack: SlackActions
    notifier: Notifier
    clock: Clock
    settings: Settings
    bolt_app: Any
    extra: dict[str, Any] = field(default_factory=dict)

    def deliver(self, *, max_passes: int = 60) -> int:
        """Run notifier passes, a little over a second apart on the clock, until the outbox is empty."""
        sent = 0
        for _ in range(max_passes):
            sent += self.notifier.deliver_due(self.clock.now)
            if self.notifier.pending() == 0:
                return sent
            self.clock.advance(seconds=1.1)
        raise AssertionError(f"outbox not empty after {max_passes} passes: {self.notifier.pending()} left")

    def posted(self, channel: str | None = None) -> list[Call]:
        """Successful ``chat.postMessage`` calls, to ``channel`` if given (a user ID also matches its DM)."""
        calls = self.fake.calls_to("chat.postMessage")
        wanted = {channel, "D" + channel[1:]} if channel and channel.startswith("U") else {channel}
        return [c for c in calls if channel is None or c.params.get("channel") in wanted]

    def opened_view(self, index: int = -1) -> dict[str, Any]:
        """The view of the last (or ``index``-th) successful ``views.open``."""
        view = self.fake.calls_to("views.open")[index].params["view"]
        return dict(json.loads(view) if isinstance(view, str) else view)


def _make_stack(database: Database, settings: Settings, policy: Policy, fake: FakeSlack,
                approval_channel: str | None) -> Iterator[Stack]:
    clock = Clock()
    slack_settings = Settings(
        database_url=settings.database_url, jobs_paths=settings.jobs_paths, time_zone="UTC",
        slack_bot_token="xoxb-test-token", slack_signing_secret=SIGNING_SECRET, slack_api_url=fake.url,
        approval_channel=approval_channel, max_pending_per_user=settings.max_pending_per_user,
    )
    core = build_test_core(database, slack_settings, policy, clock=clock)
    services = core.services
    bolt_app = build_bolt_app(slack_settings, services, metrics=core.metrics)
    app = build_app(settings=slack_settings, services=services, db=core.db,
                    installers=(slack_installer(bolt_app, signing_secret=SIGNING_SECRET),), metrics=core.metrics)
    notifier = Notifier(core.db, build_client(slack_settings, retries=False, metrics=core.metrics), clock=clock)
    with serve(app) as url:
        slack = SlackActions(base_url=url, signing_secret=SIGNING_SECRET, fake=fake)
        stack = Stack(core=core, services=services, fake=fake, slack=slack, notifier=notifier, clock=clock,
                      settings=slack_settings, bolt_app=bolt_app)
        try:
            yield stack
        finally:
            slack.close()
            if "executor" in stack.extra:
                stack.extra["executor"].stop(timedelta(0))


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        server.bot_token = "xoxb-test-token"  # an attached file is served to the app's bot token only
        server.users.update(USERS)
        server.usergroups["net-approvers"] = ("S0NETAPP", list(APPROVER_GROUP))
        yield server


@pytest.fixture
def approval_channel() -> str | None:
    """Where approval requests go; a test overrides it to None for direct messages to approvers."""
    return APPROVAL_CHANNEL


@pytest.fixture
def stack(database: Database, settings: Settings, policy: Policy, fake: FakeSlack,
          approval_channel: str | None) -> Iterator[Stack]:
    """The whole Slack stack; after the test every recorded call and ack is checked against Slack's limits."""
    for built in _make_stack(database, settings, policy, fake, approval_channel):
        yield built
        problems = [p for call in fake.calls for p in check_call(call)]
        problems += [p for ack in built.slack.acks if ack.json for p in check_ack(ack.kind, ack.json)]
        _record(fake.calls, built.slack.acks)
        assert problems == [], problems


def _record(calls: list[Call], acks: list[Any]) -> None:
    """Append this test's payloads to ``$JOBGATE_SLACK_RECORD/payloads.jsonl`` (for the TypeScript check)."""
    target = os.environ.get("JOBGATE_SLACK_RECORD")
    if not target:
        return
    path = Path(target) / "payloads.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as out:
        for call in calls:
            if call.ok:
                out.write(json.dumps({"method": call.method, "params": call.params}) + "\n")
        for ack in acks:
            if ack.json and ack.status == 200:
                out.write(json.dumps({"method": f"ack.{ack.kind}", "params": ack.json}) + "\n")


# ------------------------------------------------------------------------------------------------------- helpers


def buttons(call: Call) -> list[dict[str, Any]]:
    """Every button of a recorded message or view, in order."""
    from tests.fake_slack import blocks_of

    found = []
    for block in blocks_of(call):
        for element in block.get("elements", []) + ([block["accessory"]] if "accessory" in block else []):
            if element.get("type") == "button":
                found.append(element)
    return found


def button(call: Call, label: str) -> dict[str, Any]:
    """The button whose visible label is ``label``."""
    for element in buttons(call):
        if element["text"]["text"] == label:
            return element
    raise AssertionError(f"no {label!r} button in {call.method}")


def press(stack: Stack, call: Call, label: str, *, user_id: str) -> Any:
    """Click the button labelled ``label`` on a posted message, as ``user_id``.

    An approval answers nobody privately when it succeeds (the message itself is updated), so for **Approve** this
    waits until the click had its effect: an answer to the clicker, a modal, or notifications written.
    """
    from tests.fake_slack import wait_until

    def effects() -> tuple[int, int, int]:
        try:
            pending = stack.notifier.pending()
        except DatabaseUnavailableError:  # an outage: the click is answered privately instead
            pending = -1
        return len(stack.fake.calls_to("response_url")), len(stack.fake.calls_to("views.open")), pending

    before = effects()
    element = button(call, label)
    ack = stack.slack.click(element["action_id"], element["value"], user_id=user_id,
                            message={"text": call.params.get("text"), "blocks": call.params.get("blocks")},
                            channel_id=str(call.response.get("channel") or call.params.get("channel")),
                            message_ts=str(call.response.get("ts")))
    if label == "Approve" and ack.status == 200:
        wait_until(lambda: effects() != before)
    return ack


def request_now(stack: Stack) -> str:
    """Alice asks through /jobs for the approval job, to run as soon as it is approved; the request's ID (the only
    one waiting)."""
    ack = stack.slack.command("run testjobs.ApprovalJob device=core-2", user_id="UALICE")
    assert ack.status == 200
    stack.fake.wait_for("response_url")
    page = stack.services.listings.list_approval_queue(ADMIN)
    assert page.count == 1
    return page.items[0].id


def dispatch_and_run(stack: Stack) -> list[Any]:
    """Dispatch due scheduled jobs with the real scheduler, then run them with the real runner."""
    Dispatcher(stack.core.db, grace=timedelta(hours=1), clock=stack.clock).dispatch_all_due(now=stack.clock.now)
    return run_jobs(stack)


def reply(stack: Stack, text: str, *, user_id: str) -> str:
    """Send ``/jobs <text>`` as ``user_id``; the text of the answer that comes back by ``response_url``."""
    before = len(stack.fake.calls_to("response_url"))
    stack.slack.command(text, user_id=user_id)
    return text_of(stack.fake.wait_for("response_url", before + 1)[-1])


ONCALL = "UONCALL"
"""On call: the group ``oncall`` of ``approval_rule_policy``, which its approval rule escalates to."""

APPROVAL_RULE = """
approval_rules:
  - jobs: ["testjobs.ApprovalJob"]
    min_approvers: 2
    expire_after: 1d
    remind_every: 4h
    escalate_after: 8h
    escalate_to: [oncall]
"""


def approval_rule_policy(source: str) -> Policy:
    """The test policy with ``ONCALL`` in the group ``oncall`` and ``APPROVAL_RULE`` for ``testjobs.ApprovalJob``: two
    approvals, expiry after a day, a reminder every four hours, escalation to on-call after eight."""
    text = POLICY_YAML.replace("  viewers: [UVIEWER]\n", f"  viewers: [UVIEWER]\n  oncall: [{ONCALL}]\n")
    return parse_policy(text + APPROVAL_RULE, source=source)


def run_jobs(stack: Stack) -> list[Any]:
    """Execute every pending job result in the real local executor's worker processes, claimed at the stack's clock."""
    executor = stack.extra.get("executor")
    if executor is None:
        metrics = stack.core.metrics
        executor = LocalExecutor(stack.core.db, stack.core.catalog, stack.core.handover, workers=2,
                                 default_time_limit=timedelta(minutes=1), clock=stack.clock,
                                 on_recorded=metrics.runs_recorded if metrics is not None else None)
        executor.start(claiming=False)
        stack.extra["executor"] = executor
    return executor.run_pending(now=stack.clock.now)
