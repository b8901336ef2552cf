"""The approval message in a channel notifies the people who can approve it, and keeps saying what happened: who
decided, and how an approved one-off run went."""

from __future__ import annotations

import threading
from datetime import timedelta

from bot.app import Core, build_core
from bot.domain.approvals import ApprovalState
from bot.domain.results import JobResultStatus
from bot.scheduler import Dispatcher
from storage.db import Database
from tests.conftest import ADMIN
from tests.slack.conftest import APPROVAL_CHANNEL, Stack, button, press, run_jobs

APPROVERS = "<!subteam^S0NETAPP>, <@UADMIN>, <@UAPPROVER>, <@UAPPROVER2>"
"""Who may approve the test jobs (tests/conftest.py's policy): the @net-approvers group and three people."""


def request(stack: Stack, *, user_id: str) -> str:
    assert stack.slack.command("run testjobs.ApprovalJob device=core-2", user_id=user_id).status == 200
    stack.fake.wait_for("response_url", len(stack.fake.calls_to("response_url")) + 1)
    return next(r for r in stack.services.listings.list_approval_queue(ADMIN).items if r.user_id == user_id).id


def test_the_message_in_the_approval_channel_mentions_who_can_approve(stack: Stack) -> None:
    request(stack, user_id="UALICE")
    stack.deliver()
    (message,) = stack.posted(APPROVAL_CHANNEL)
    assert message.params["blocks"][0]["text"]["text"] == f"⏳ *Approval needed* from {APPROVERS}"
    assert message.params["text"].endswith(f"Approvers: {APPROVERS}.")  # the notification pings them too


def test_the_requester_is_never_mentioned_as_an_approver(stack: Stack) -> None:
    request(stack, user_id="UAPPROVER")
    stack.deliver()
    (message,) = stack.posted(APPROVAL_CHANNEL)
    status = message.params["blocks"][0]["text"]["text"]
    assert status == "⏳ *Approval needed* from <!subteam^S0NETAPP>, <@UADMIN>, <@UAPPROVER2>"
    assert "Approvers: <!subteam^S0NETAPP>, <@UADMIN>, <@UAPPROVER2>." in message.params["text"]


def test_once_approved_nobody_is_pinged_and_the_message_says_how_the_run_went(stack: Stack) -> None:
    scheduled_job_id = request(stack, user_id="UALICE")
    stack.deliver()
    (message,) = stack.posted(APPROVAL_CHANNEL)
    press(stack, message, "Approve", user_id="UAPPROVER")
    stack.deliver()
    approved = stack.fake.calls_to("chat.update")[-1]
    status = approved.params["blocks"][0]["text"]["text"]
    assert status.startswith("✅ *Approved* by <@UAPPROVER> · ") and status.endswith("\nRuns now.")
    assert "subteam" not in approved.params["text"] and "<@UADMIN>" not in approved.params["text"]

    stack.clock.advance(seconds=5)
    Dispatcher(stack.core.db, grace=timedelta(hours=1), clock=stack.clock).dispatch_all_due(now=stack.clock.now)
    [outcome] = run_jobs(stack)
    assert outcome.status is JobResultStatus.COMPLETED
    stack.deliver()
    ran = [c for c in stack.fake.calls_to("chat.update") if c.params["ts"] == message.response["ts"]][-1]
    status = ran.params["blocks"][0]["text"]["text"]
    assert status.startswith("✅ *Approved* by <@UAPPROVER> · ") and "\nRan <!date^" in status
    assert status.endswith("· ✅ Completed.")
    assert ran.params["text"].endswith("· ✅ Completed.") and "Ran <!date^" in ran.params["text"]
    record = stack.services.listings.get_scheduled_job(ADMIN, scheduled_job_id)
    assert record.approval_state is ApprovalState.APPROVED and record.total_run_count == 1


def test_a_request_whose_start_time_passes_is_drawn_again_as_past_due_once_even_with_two_replicas(
    stack: Stack,
) -> None:
    assert stack.slack.command('run testjobs.ApprovalJob device=core-2 --at "2030-01-15 15:00"',
                               user_id="UALICE").status == 200  # 14:00 UTC: two hours ahead
    stack.fake.wait_for("response_url")
    stack.deliver()
    (message,) = stack.posted(APPROVAL_CHANNEL)
    assert message.params["blocks"][0]["text"]["text"].startswith("⏳ *Approval needed*")
    assert "confirm" not in button(message, "Approve")
    assert stack.services.deadlines.handle_due(stack.clock.now + timedelta(hours=2)) == 0  # not yet past

    stack.clock.advance(hours=2, seconds=1)
    other_db = Database.from_url(stack.settings.database_url)
    other = build_core(stack.settings, db=other_db, policy=stack.core.deps.policy, clock=stack.clock, migrate=False)
    try:
        barrier = threading.Barrier(2)
        handled: list[int] = []

        def handle(core: Core) -> None:
            barrier.wait()
            handled.append(core.services.deadlines.handle_due(stack.clock.now))

        threads = [threading.Thread(target=handle, args=(core,)) for core in (stack.core, other)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        other_db.dispose()
    assert sorted(handled) == [0, 1]
    stack.deliver()
    (redrawn,) = [c for c in stack.fake.calls_to("chat.update") if c.params["ts"] == message.response["ts"]]
    assert redrawn.params["blocks"][0]["text"]["text"] == f"⌛ *Past due* · approval needed from {APPROVERS}"
    assert redrawn.params["text"].startswith("⌛ Past due, approval needed: <@UALICE> asks to run Approval job")
    assert button(redrawn, "Approve")["confirm"]["confirm"]["text"] == "Approve and run now"
    stack.clock.advance(hours=1)
    assert stack.services.deadlines.handle_due(stack.clock.now) == 0  # drawn once
