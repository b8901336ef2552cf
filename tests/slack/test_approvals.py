"""Approval journeys through the real app: approve, refusals, deny with a reason, dry run, past due, the queue, and
the races (a click delivered twice; fifteen approvers at once)."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.domain.approvals import ApprovalState
from bot.domain.permissions import Actor
from bot.domain.policy_file import parse_policy
from bot.domain.results import JobResultStatus
from bot.services import ScheduleInput
from handlers import ids
from tests.conftest import ADMIN, POLICY_YAML
from tests.fake_slack import text_of
from tests.slack.conftest import APPROVAL_CHANNEL, APPROVER_GROUP, Stack, button, buttons, press, run_jobs


def request_approval(stack: Stack, *, at: str = "2030-01-16 09:00", user_id: str = "UALICE") -> str:
    """ALICE asks for the approval job through /jobs; returns the scheduled job's ID."""
    ack = stack.slack.command(f'run testjobs.ApprovalJob device=core-2 --at "{at}"', user_id=user_id)
    assert ack.status == 200
    stack.fake.wait_for("response_url")
    page = stack.services.listings.list_approval_queue(ADMIN)
    assert page.count == 1
    return page.items[0].id


def approval_message(stack: Stack) -> object:
    stack.deliver()
    posted = stack.posted(APPROVAL_CHANNEL)
    assert len(posted) == 1
    return posted[0]


def state(stack: Stack, scheduled_job_id: str) -> ApprovalState:
    return stack.services.listings.get_scheduled_job(ADMIN, scheduled_job_id).approval_state


def test_request_posts_an_approval_message_with_the_three_buttons(stack: Stack) -> None:
    scheduled_job_id = request_approval(stack)
    message = approval_message(stack)
    assert [b["text"]["text"] for b in buttons(message)] == ["Approve", "Deny", "Dry run"]
    assert button(message, "Approve")["style"] == "primary" and "confirm" not in button(message, "Approve")
    assert button(message, "Deny")["style"] == "danger"
    text = text_of(message)
    blocks = message.params["blocks"]
    assert blocks[0]["text"]["text"].startswith("⏳ *Approval needed*")  # the status comes first
    assert blocks[1]["text"]["text"] == "*Approval job · core-2*"  # the job and its key variable
    assert "<@UALICE>" in text and "testjobs.ApprovalJob" in text and "Device: core-2" in text
    due = int((stack.clock.now.replace(day=16, hour=8)).timestamp())
    assert f"*When*\n<!date^{due}^{{date_short_pretty}} at {{time}}|" in text  # each reader's own zone
    assert f"<!date^{due}^{{ago}}|" in text  # and how far off it is
    assert "Europe/Berlin" not in text  # no second time in the requester's zone beside the reader's
    assert f"ID `{scheduled_job_id[:8]}`" in text  # the short form; the buttons carry the full ID
    assert scheduled_job_id not in text


def test_the_buttons_labels_for_screen_readers_name_the_job_and_the_requester(stack: Stack) -> None:
    stack.fake.users["UALICE"] = {"tz": "Europe/Berlin", "real_name": "Alice Example",
                                  "profile": {"display_name": "alice"}}
    request_approval(stack)
    labels = [b["accessibility_label"] for b in buttons(approval_message(stack))]
    assert labels == ["Approve Approval job for @alice", "Deny Approval job for @alice",
                      "Dry run Approval job for @alice"]


def test_the_buttons_labels_keep_the_short_id_when_slack_does_not_know_the_requesters_name(stack: Stack) -> None:
    scheduled_job_id = request_approval(stack)  # the test workspace's profiles have time zones only
    labels = [b["accessibility_label"] for b in buttons(approval_message(stack))]
    short_id = scheduled_job_id[:8]
    assert labels == [f"Approve Approval job {short_id}", f"Deny Approval job {short_id}",
                      f"Dry run Approval job {short_id}"]


def test_approve_updates_the_message_in_place_and_tells_the_requester(stack: Stack) -> None:
    scheduled_job_id = request_approval(stack)
    message = approval_message(stack)
    ack = press(stack, message, "Approve", user_id="UAPPROVER")
    assert ack.status == 200 and ack.elapsed < 3
    assert state(stack, scheduled_job_id) is ApprovalState.APPROVED

    stack.deliver()
    update = stack.fake.wait_for("chat.update")[0]
    assert update.params["channel"] == APPROVAL_CHANNEL and update.params["ts"] == message.response["ts"]
    status = update.params["blocks"][0]["text"]["text"]
    assert status.startswith("✅ *Approved* by <@UAPPROVER> · <!date^")  # who, and how long ago
    assert "Runs <!date^" in status  # what will happen now
    assert update.params["text"].startswith("✅ Approved by <@UAPPROVER>: Approval job · core-2 for <@UALICE>. Runs ")
    assert buttons(update) == []
    # The message says it all: the approver gets no private "done" on top of it.
    assert len(stack.fake.calls_to("response_url")) == 1  # only the answer to /jobs run
    dm = stack.posted("UALICE")
    assert len(dm) == 1 and "approved by <@UAPPROVER>" in text_of(dm[0])


@pytest.mark.parametrize(("requester", "user_id", "expected"), [
    ("UAPPROVER", "UAPPROVER", "You asked for this run, so someone else needs to approve it: approvers are "
                               "@net-approvers, <@UADMIN>, <@UAPPROVER2>. You can still withdraw it with Deny."),
    ("UALICE", "UALICE", "You can't approve this request: approving it needs the approve permission on its job. "
                         "One of its approvers can decide, or an admin can grant you it."),
    ("UALICE", "UNOBODY", "You can't approve this request: approving it needs the approve permission on its job."),
    ("UALICE", "UVIEWER", "You can't approve this request: approving it needs the approve permission on its job."),
])
def test_refusals_go_to_the_clicking_user_alone(stack: Stack, requester: str, user_id: str, expected: str) -> None:
    scheduled_job_id = request_approval(stack, user_id=requester)
    message = approval_message(stack)
    assert press(stack, message, "Approve", user_id=user_id).status == 200
    reply = stack.fake.wait_for("response_url", 2)[-1]
    assert reply.params["response_type"] == "ephemeral" and reply.params["replace_original"] is False
    assert expected in text_of(reply)
    assert state(stack, scheduled_job_id) is ApprovalState.PENDING
    stack.deliver()
    assert stack.fake.calls_to("chat.update") == []


def test_deny_asks_for_a_reason_and_records_it(stack: Stack) -> None:
    scheduled_job_id = request_approval(stack)
    message = approval_message(stack)
    press(stack, message, "Deny", user_id="UAPPROVER")
    stack.fake.wait_for("views.open")
    modal = stack.opened_view()
    assert modal["callback_id"] == ids.DENY_MODAL
    ack = stack.slack.submit(modal, {ids.DENY_REASON_BLOCK: "Not during business hours"}, user_id="UAPPROVER")
    assert ack.status == 200 and ack.json is not None and ack.json["response_action"] == "update"
    record = stack.services.listings.get_scheduled_job(ADMIN, scheduled_job_id)
    assert record.approval_state is ApprovalState.DENIED and record.decision_reason == "Not during business hours"

    stack.deliver()
    update = stack.fake.calls_to("chat.update")[0]
    assert "Denied* by <@UAPPROVER>" in text_of(update) and "Not during business hours" in text_of(update)
    assert buttons(update) == []
    dm = stack.posted("UALICE")[0]
    assert "denied by <@UAPPROVER>" in text_of(dm) and "Not during business hours" in text_of(dm)


def test_deny_modal_shows_a_refusal_on_its_field(stack: Stack) -> None:
    request_approval(stack)
    message = approval_message(stack)
    press(stack, message, "Deny", user_id="UVIEWER")
    stack.fake.wait_for("views.open")
    ack = stack.slack.submit(stack.opened_view(), {ids.DENY_REASON_BLOCK: "no"}, user_id="UVIEWER")
    assert ack.json == {"response_action": "errors",
                        "errors": {ids.DENY_REASON_BLOCK: "You can't deny this request: denying it needs the approve "
                                                             "permission on its job. One of its approvers can "
                                                             "decide; its requester can withdraw it."}}


def test_dry_run_posts_its_result_and_log_in_the_message_thread(stack: Stack) -> None:
    scheduled_job_id = request_approval(stack)
    message = approval_message(stack)
    press(stack, message, "Dry run", user_id="UAPPROVER")
    reply = stack.fake.wait_for("response_url", 2)[-1]
    assert "Dry run" in text_of(reply)
    outcomes = run_jobs(stack)
    assert [o.status for o in outcomes] == [JobResultStatus.COMPLETED]
    stack.deliver()
    threaded = [c for c in stack.posted(APPROVAL_CHANNEL) if c.params.get("thread_ts")]
    assert len(threaded) == 1 and threaded[0].params["thread_ts"] == message.response["ts"]
    assert "device=core-2 commit=False" in text_of(threaded[0])
    assert stack.posted("UAPPROVER") == []  # not a DM
    assert state(stack, scheduled_job_id) is ApprovalState.PENDING


def test_past_due_when_drawn_carries_a_confirm_dialog(stack: Stack) -> None:
    scheduled_job_id = request_approval(stack)
    stack.clock.advance(days=2)  # the message goes out after the start time
    message = approval_message(stack)
    approve = button(message, "Approve")
    assert approve["action_id"] == ids.APPROVE_CONFIRMED and "confirm" in approve
    press(stack, message, "Approve", user_id="UAPPROVER")  # Slack sends the click only once confirmed
    record = stack.services.listings.get_scheduled_job(ADMIN, scheduled_job_id)
    assert record.approval_state is ApprovalState.APPROVED and record.next_run_at == stack.clock.now


def test_a_request_that_became_past_due_asks_for_confirmation_in_a_modal(stack: Stack) -> None:
    scheduled_job_id = request_approval(stack)
    message = approval_message(stack)
    assert "confirm" not in button(message, "Approve")
    stack.clock.advance(days=2)
    press(stack, message, "Approve", user_id="UAPPROVER")
    stack.fake.wait_for("views.open")
    modal = stack.opened_view()
    assert modal["callback_id"] == ids.PAST_DUE_MODAL
    assert state(stack, scheduled_job_id) is ApprovalState.PENDING  # not approved by the click
    ack = stack.slack.submit(modal, user_id="UAPPROVER")
    assert ack.json is not None and ack.json["response_action"] == "update"
    assert state(stack, scheduled_job_id) is ApprovalState.APPROVED


def test_queue_lists_pending_requests_with_the_same_buttons(stack: Stack) -> None:
    first = request_approval(stack)
    stack.slack.command('run testjobs.ApprovalJob --at "2030-01-17 09:00"', user_id="UBOB")
    stack.fake.wait_for("response_url", 2)
    stack.slack.command("queue", user_id="UAPPROVER")
    queue = stack.fake.wait_for("response_url", 3)[-1]
    assert "2 requests" in text_of(queue)
    labels = [b["text"]["text"] for b in buttons(queue)]
    assert labels == ["Approve", "Deny", "Dry run"] * 2
    approve = next(b for b in buttons(queue) if b["value"] == first and b["text"]["text"] == "Approve")
    stack.slack.click(approve["action_id"], approve["value"], user_id="UAPPROVER", ephemeral=True)
    stack.fake.wait_for("response_url", 4)
    assert state(stack, first) is ApprovalState.APPROVED


def test_the_same_click_twice_decides_once(stack: Stack) -> None:
    scheduled_job_id = request_approval(stack)
    message = approval_message(stack)
    press(stack, message, "Approve", user_id="UAPPROVER")
    press(stack, message, "Approve", user_id="UAPPROVER")
    second = stack.fake.wait_for("response_url", 2)[-1]
    assert "already approved by <@UAPPROVER>" in text_of(second)
    assert state(stack, scheduled_job_id) is ApprovalState.APPROVED
    stack.deliver()
    assert len(stack.posted("UALICE")) == 1  # one "approved" DM


def test_fifteen_approvers_at_once_make_exactly_one_decision(stack: Stack) -> None:
    scheduled_job_id = request_approval(stack, at="2030-01-15 13:30")
    message = approval_message(stack)
    clickers = ["UAPPROVER", "UAPPROVER2", *APPROVER_GROUP]
    assert len(clickers) == 15
    barrier = threading.Barrier(len(clickers))
    statuses: list[int] = []

    def click(index: int, user_id: str) -> None:
        barrier.wait()
        statuses.append(press(stack, message, "Approve" if index % 2 else "Deny", user_id=user_id).status)

    threads = [threading.Thread(target=click, args=(i, u)) for i, u in enumerate(clickers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 15
    deny_modals = stack.fake.wait_for("views.open", 8)  # the 8 Deny clicks each open the reason modal
    approvals = 7
    stack.fake.wait_for("response_url", approvals)
    record = stack.services.listings.get_scheduled_job(ADMIN, scheduled_job_id)
    assert record.approval_state is ApprovalState.APPROVED
    assert len(record.approvals) == 1  # one approval made the decision; the update of the message says so
    losers = [c for c in stack.fake.calls_to("response_url") if "already approved by" in text_of(c)]
    assert len(losers) == approvals - 1
    # The deny modals are submitted at once too: every one is refused, the decision stands.
    results: list[Any] = []
    views = [stack.opened_view(i) for i in range(len(deny_modals))]
    deniers = [u for i, u in enumerate(clickers) if i % 2 == 0]
    threads = [threading.Thread(target=lambda v=v, u=u: results.append(stack.slack.submit(v, user_id=u)))
               for v, u in zip(views, deniers, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Decided while their modal was open: the modal is replaced by a notice saying by whom (a mention, not "<@U…>").
    for result in results:
        assert result.json is not None and result.json["response_action"] == "update"
        assert result.json["view"]["title"]["text"] == "Already decided"
        assert "already approved by <@" in result.json["view"]["blocks"][0]["text"]["text"]
        assert result.json["view"]["blocks"][0]["text"]["type"] == "mrkdwn"
    assert state(stack, scheduled_job_id) is ApprovalState.APPROVED
    assert len(stack.services.listings.list_job_results(ADMIN).items) == 0
    stack.clock.advance(minutes=31)
    assert len(run_jobs_dispatched(stack)) == 1


def run_jobs_dispatched(stack: Stack) -> list[object]:
    """Dispatch due scheduled jobs with the real scheduler, then run them with the real runner."""
    from bot.scheduler import Dispatcher

    Dispatcher(stack.core.db, grace=timedelta(hours=1), clock=stack.clock).dispatch_all_due(now=stack.clock.now)
    return run_jobs(stack)


def test_a_schedule_whose_job_now_requires_approval_waits_for_approval_at_its_due_time(stack: Stack,
                                                                                      jobs_dir: Path) -> None:
    from bot.scheduler import Dispatcher

    start = stack.clock.now + timedelta(minutes=30)
    outcome = stack.services.requests.request_job(
        actor=Actor("UALICE"), job="testjobs.TestPass", now=stack.clock.now,
        schedule=ScheduleInput(interval="hourly", name="pass hourly", start_time=start))
    assert outcome.scheduled_job is not None and not outcome.needs_approval
    scheduled_job_id = outcome.scheduled_job.id
    module = jobs_dir / "testjobs.py"
    module.write_text(module.read_text().replace(
        '        name = "Test pass"\n', '        name = "Test pass"\n        approval_required = True\n', 1))
    stack.services.management.sync_jobs(now=stack.clock.now)
    dispatcher = Dispatcher(stack.core.db, grace=timedelta(hours=1), clock=stack.clock, deps=stack.core.deps)

    stack.clock.advance(minutes=31)
    dispatcher.dispatch_all_due(now=stack.clock.now)
    assert stack.services.listings.list_job_results(ADMIN).items == []  # it did not run
    record = stack.services.listings.get_scheduled_job(ADMIN, scheduled_job_id)
    assert record.approval_state is ApprovalState.PENDING and record.next_run_at is None
    message = approval_message(stack)  # the approvers are asked, as for a new request
    assert "pass hourly" in text_of(message) or "Test pass" in text_of(message)
    stack.clock.advance(hours=2)
    dispatcher.dispatch_all_due(now=stack.clock.now)
    assert stack.services.listings.list_job_results(ADMIN).items == []  # still waiting

    press(stack, message, "Approve", user_id="UAPPROVER")
    assert state(stack, scheduled_job_id) is ApprovalState.APPROVED
    stack.clock.advance(hours=1)
    dispatcher.dispatch_all_due(now=stack.clock.now)
    [result] = stack.services.listings.list_job_results(ADMIN).items
    assert result.status is JobResultStatus.PENDING and result.approved_by_id == "UAPPROVER"


PINNED_POLICY = parse_policy(POLICY_YAML.replace('"@net-approvers"', '"@net-approvers:S0NETAPP"'), source="pinned")


@pytest.mark.parametrize("approval_channel", [None])
@pytest.mark.parametrize("policy", [PINNED_POLICY])
def test_a_user_group_pinned_to_its_id_cannot_be_taken_over_by_its_handle(stack: Stack) -> None:
    # The approvers' group was renamed, and someone made a new group with its old handle.
    stack.fake.usergroups.clear()
    stack.fake.usergroups["old-approvers"] = ("S0NETAPP", list(APPROVER_GROUP))
    stack.fake.usergroups["net-approvers"] = ("S0EVIL", ["UNOBODY"])
    scheduled_job_id = request_approval(stack)
    stack.deliver()
    asked = {c.params["channel"] for c in stack.posted()}
    assert set(APPROVER_GROUP) <= asked and "UNOBODY" not in asked
    mine = stack.posted("UGRP05")[0]
    press(stack, mine, "Approve", user_id="UNOBODY")
    stack.fake.wait_for("response_url", 2)
    assert state(stack, scheduled_job_id) is ApprovalState.PENDING
    press(stack, mine, "Approve", user_id="UGRP05")
    assert state(stack, scheduled_job_id) is ApprovalState.APPROVED
