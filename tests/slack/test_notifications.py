"""The notifier against the fake Slack: direct messages to approvers (user groups expanded), results with their
log in a thread, and an outage (500s, timeouts, then 429s) after which everything arrives, in order, once."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from slack_sdk import WebClient

from bot.domain.outbox import OutboxKind, OutboxMessage
from bot.domain.permissions import Actor
from bot.domain.policy_file import parse_policy
from bot.notifier import Notifier
from bot.scheduler import Dispatcher
from bot.services import ScheduleInput
from storage.repositories import Repositories
from tests.conftest import POLICY_YAML
from tests.fake_slack import text_of, wait_until
from tests.slack.conftest import APPROVER_GROUP, Stack, button, press, run_jobs

RESULT_ID = re.compile(r"Result `([0-9a-f]{8})`")  # the short form


@pytest.mark.parametrize("approval_channel", [None])
def test_without_an_approval_channel_each_approver_gets_a_dm_and_every_dm_is_updated(stack: Stack) -> None:
    stack.slack.command('run testjobs.ApprovalJob --at "2030-01-16 09:00"', user_id="UALICE")
    stack.fake.wait_for("response_url")
    stack.deliver()
    dms = stack.posted()
    channels = sorted(c.params["channel"] for c in dms)
    assert channels == sorted(["UADMIN", "UAPPROVER", "UAPPROVER2", *APPROVER_GROUP])
    assert len(stack.fake.calls_to("usergroups.users.list")) == 1
    assert all([b["text"]["text"] for b in c.params["blocks"][-1]["elements"]] == ["Approve", "Deny", "Dry run"]
               for c in dms)

    mine = next(c for c in dms if c.params["channel"] == "UGRP05")
    press(stack, mine, "Approve", user_id="UGRP05")
    stack.deliver()
    updates = stack.fake.calls_to("chat.update")
    assert sorted((u.params["channel"], u.params["ts"]) for u in updates) == sorted(
        (c.response["channel"], c.response["ts"]) for c in dms)
    assert all("Approved* by <@UGRP05>" in text_of(u) for u in updates)
    assert len(stack.posted("UALICE")) == 1


def test_a_finished_run_is_a_dm_with_its_log_in_the_thread(stack: Stack) -> None:
    stack.slack.command("run testjobs.APITestJob var1=hello var2=1 var4=role-a --now", user_id="UALICE")
    stack.fake.wait_for("response_url")
    run_jobs(stack)
    stack.deliver()
    first, log = stack.posted("UALICE")
    assert "Completed" in text_of(first) and "thread_ts" not in first.params
    assert log.params["thread_ts"] == first.response["ts"] and log.params["channel"] == first.response["channel"]
    assert "var1=hello commit=True" in text_of(log)


def test_a_dry_run_of_a_request_in_several_threads(stack: Stack) -> None:
    # Two approval messages for one request (a channel, then the same request announced again by DM).
    stack.slack.command('run testjobs.ApprovalJob --at "2030-01-16 09:00"', user_id="UALICE")
    stack.fake.wait_for("response_url")
    stack.deliver()
    message = stack.posted()[0]
    with stack.core.db.write() as session:
        outbox = Repositories(session).outbox
        entry = outbox.list_recent(limit=1000)[0]
        outbox.add(OutboxMessage(channel="UAPPROVER", kind=OutboxKind.APPROVAL_REQUEST, payload=dict(entry.payload),
                                 ref_type=entry.ref_type, ref_id=entry.ref_id), now=stack.clock.now)
    stack.deliver()
    press(stack, message, "Dry run", user_id="UAPPROVER")
    stack.fake.wait_for("response_url", 2)
    run_jobs(stack)
    stack.deliver()
    replies = [c for c in stack.posted() if c.params.get("thread_ts")]
    assert len(replies) == 2 and all("commit=False" in text_of(r) for r in replies)


def test_after_an_outage_every_notification_arrives_in_order_once(stack: Stack) -> None:
    for _ in range(3):
        before = len(stack.fake.calls_to("response_url"))
        stack.slack.command("run testjobs.TestPass --now", user_id="UALICE")
        stack.fake.wait_for("response_url", before + 1)
    stack.slack.command('run testjobs.ApprovalJob --at "2030-01-16 09:00"', user_id="UBOB")
    stack.fake.wait_for("response_url", 4)
    run_jobs(stack)
    with stack.core.db.read() as session:
        expected = [e.payload["job_result_id"][:8] for e in Repositories(session).outbox.list_recent(limit=1000)
                    if e.kind is OutboxKind.RUN_FINISHED]
    assert len(expected) == 3

    notifier = Notifier(stack.core.db, WebClient(token="xoxb-test-token", base_url=stack.fake.url, timeout=0.5,
                                                  retry_handlers=[]), clock=stack.clock)
    stack.fake.fail("chat.postMessage", status=500, times=4)
    stack.fake.fail("chat.postMessage", status=503, times=2, delay=0.8)  # also timeouts
    stack.fake.fail("chat.postMessage", status=429, times=3, retry_after=30)
    for _ in range(200):
        notifier.deliver_due(stack.clock.now)
        if notifier.pending() == 0:
            break
        stack.clock.advance(seconds=5)
    assert notifier.pending() == 0
    failed = stack.fake.calls_to("chat.postMessage", ok_only=False)
    assert sum(1 for c in failed if c.status == 429) == 3 and sum(1 for c in failed if c.status >= 500) >= 4

    to_alice = stack.posted("UALICE")
    mains = [c for c in to_alice if "thread_ts" not in c.params]
    assert [RESULT_ID.search(text_of(c)).group(1) for c in mains] == expected  # type: ignore[union-attr]
    assert len(to_alice) == 6  # three results, three logs: nothing repeated
    assert len({c.params.get("thread_ts") for c in to_alice if c.params.get("thread_ts")}) == 3
    assert len(stack.posted("C0APPROVALS")) == 1
    with stack.core.db.read() as session:
        assert {e.status for e in Repositories(session).outbox.list_recent(limit=1000)} == {"sent"}


def test_delivery_keeps_a_second_between_messages_to_one_channel(stack: Stack) -> None:
    for _ in range(2):
        before = len(stack.fake.calls_to("response_url"))
        stack.slack.command("run testjobs.TestPass --now", user_id="UALICE")
        stack.fake.wait_for("response_url", before + 1)
    run_jobs(stack)
    assert stack.notifier.deliver_due(stack.clock.now) == 1  # one message to UALICE, not two
    assert stack.notifier.deliver_due(stack.clock.now) == 0
    stack.deliver()
    assert len(stack.posted("UALICE")) == 4


def test_the_background_thread_delivers(stack: Stack) -> None:
    stack.slack.command('run testjobs.ApprovalJob --at "2030-01-16 09:00"', user_id="UALICE")
    stack.fake.wait_for("response_url")
    stack.notifier.start()
    try:
        stack.fake.wait_for("chat.postMessage")
        wait_until(lambda: stack.notifier.pending() == 0)
        assert stack.notifier.health()["running"]
    finally:
        stack.notifier.stop()
    assert button(stack.posted()[0], "Approve")


@pytest.mark.parametrize("approval_channel", [None])
def test_approvers_found_after_slack_recovers_get_each_request_once_in_order(stack: Stack) -> None:
    for at in ("2030-01-16 09:00", "2030-01-17 09:00"):
        before = len(stack.fake.calls_to("response_url"))
        stack.slack.command(f'run testjobs.ApprovalJob --at "{at}"', user_id="UALICE")
        stack.fake.wait_for("response_url", before + 1)
    with stack.core.db.read() as session:
        requests = [e.payload["scheduled_job_id"] for e in Repositories(session).outbox.list_recent(limit=1000)
                    if e.channel == "@net-approvers"]
    assert len(requests) == 2
    stack.fake.fail("usergroups.list", status=503, times=3)
    stack.fake.fail("usergroups.list", status=429, times=1, retry_after=20)
    stack.fake.fail("usergroups.users.list", status=503, times=2)
    stack.fake.fail("usergroups.users.list", status=429, times=1, retry_after=20)
    for _ in range(300):
        stack.notifier.deliver_due(stack.clock.now)
        if stack.notifier.pending() == 0:
            break
        stack.clock.advance(seconds=5)
    assert stack.notifier.pending() == 0
    assert len(stack.fake.calls_to("usergroups.list", ok_only=False)) >= 5
    for member in APPROVER_GROUP:
        dms = stack.posted(member)
        shown = [next(r for r in requests if r in str(c.params["blocks"])) for c in dms]
        assert shown == requests, member  # both requests, once each, oldest first
    with stack.core.db.read() as session:
        assert "failed" not in {e.status for e in Repositories(session).outbox.list_recent(limit=1000)}


def test_due_times_missed_in_downtime_are_one_dm_saying_how_many_and_when(stack: Stack) -> None:
    start = stack.clock.now + timedelta(minutes=10)
    stack.services.requests.request_job(actor=Actor("UALICE"), job="testjobs.TestPass", now=stack.clock.now,
                                        schedule=ScheduleInput(interval="hourly", name="hourly", start_time=start))
    stack.clock.advance(hours=3, minutes=20)  # 4 due times passed: the last runs, 3 are missed
    Dispatcher(stack.core.db, grace=timedelta(hours=1), clock=stack.clock).dispatch_all_due(now=stack.clock.now)
    stack.deliver()
    first, log = stack.posted("UALICE")
    assert "Missed" in text_of(first) and log.params["thread_ts"] == first.response["ts"]
    assert (f"missed 3 due times from {start.isoformat()} to {(start + timedelta(hours=2)).isoformat()}"
            in text_of(log))


@pytest.mark.parametrize("approval_channel", [None])
@pytest.mark.parametrize("policy", [parse_policy(POLICY_YAML.replace('"@net-approvers"', '"S0GONE"'), source="p")])
def test_a_request_to_a_pinned_group_slack_says_is_gone_is_given_up_and_the_others_delivered(stack: Stack) -> None:
    stack.slack.command('run testjobs.ApprovalJob --at "2030-01-16 09:00"', user_id="UALICE")
    stack.fake.wait_for("response_url")
    stack.deliver()
    assert sorted(c.params["channel"] for c in stack.posted()) == ["UADMIN", "UAPPROVER", "UAPPROVER2"]
    with stack.core.db.read() as session:
        [gone] = [e for e in Repositories(session).outbox.list_recent(limit=100) if e.channel == "S0GONE"]
    assert gone.status == "failed" and gone.error == "no_such_subteam"
