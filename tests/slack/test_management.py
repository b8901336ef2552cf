"""Managing scheduled jobs from Slack: the listings, cancel, pause and resume, and the App Home tab."""

from __future__ import annotations

import json
from typing import Any

from bot.domain.approvals import ApprovalState
from handlers import ids
from tests.conftest import ADMIN
from tests.fake_slack import Call, text_of
from tests.slack.conftest import APPROVAL_CHANNEL, Stack, button, reply, run_jobs


def schedule(stack: Stack, text: str, *, user_id: str = "UALICE") -> str:
    before = len(stack.fake.calls_to("response_url"))
    stack.slack.command(f"run {text}", user_id=user_id)
    stack.fake.wait_for("response_url", before + 1)
    return stack.services.listings.list_scheduled_jobs(ADMIN).items[0].id


def test_scheduled_lists_what_the_commands_accept(stack: Stack) -> None:
    scheduled_job_id = schedule(stack, 'testjobs.TestPass --every daily --start "2030-01-16 09:00" --name Nightly')
    listing = reply(stack, "scheduled", user_id="UALICE")
    assert "Nightly" in listing and "Daily" in listing and "<@UALICE>" in listing
    assert f"`{scheduled_job_id[:8]}`" in listing  # the short form
    assert "no approval needed" in listing


def test_pause_and_resume_by_the_id_shown(stack: Stack) -> None:
    scheduled_job_id = schedule(stack, 'testjobs.TestPass --cron "0 * * * *" --name Hourly')
    assert "you paused" in reply(stack, f"pause {scheduled_job_id}", user_id="UALICE")
    assert stack.services.listings.get_scheduled_job(ADMIN, scheduled_job_id).paused
    assert "already paused" in reply(stack, f"pause {scheduled_job_id}", user_id="UALICE")
    assert "permission to resume" in reply(stack, f"resume {scheduled_job_id}", user_id="UBOB")
    stack.clock.advance(hours=5)
    assert "you resumed" in reply(stack, f"resume {scheduled_job_id}", user_id="UALICE")
    record = stack.services.listings.get_scheduled_job(ADMIN, scheduled_job_id)
    assert not record.paused and record.next_run_at is not None and record.next_run_at > stack.clock.now


def test_cancel_ends_it_and_a_second_cancel_is_refused(stack: Stack) -> None:
    scheduled_job_id = schedule(stack, 'testjobs.TestPass --at "2030-01-16 09:00"')
    assert "permission to cancel" in reply(stack, f"cancel {scheduled_job_id}", user_id="UBOB")
    assert "you cancelled" in reply(stack, f"cancel {scheduled_job_id}", user_id="UALICE")
    assert not stack.services.listings.get_scheduled_job(ADMIN, scheduled_job_id).enabled
    assert "already ended" in reply(stack, f"cancel {scheduled_job_id}", user_id="UALICE")


def test_cancelling_a_pending_request_updates_its_approval_message(stack: Stack) -> None:
    scheduled_job_id = schedule(stack, 'testjobs.ApprovalJob --at "2030-01-16 09:00"')
    stack.deliver()
    reply(stack, f"cancel {scheduled_job_id}", user_id="UALICE")
    stack.deliver()
    update = stack.fake.calls_to("chat.update")[0]
    assert "Cancelled* by <@UALICE>" in text_of(update) and "Approve" not in text_of(update)


def test_approve_deny_and_dry_run_commands(stack: Stack) -> None:
    first = schedule(stack, 'testjobs.ApprovalJob --at "2030-01-16 09:00"')
    assert "you approved" in reply(stack, f"approve {first}", user_id="UAPPROVER")
    assert "already approved by <@UAPPROVER>" in reply(stack, f"deny {first} too late", user_id="UAPPROVER2")
    second = schedule(stack, 'testjobs.ApprovalJob --at "2030-01-17 09:00"', user_id="UBOB")
    second = next(r.id for r in stack.services.listings.list_approval_queue(ADMIN).items)
    assert "Dry run" in reply(stack, f"dry-run {second}", user_id="UAPPROVER")
    stack.clock.advance(days=3)
    assert f"`/jobs approve {second[:8]} --force`" in reply(stack, f"approve {second}", user_id="UAPPROVER")
    assert "you approved" in reply(stack, f"approve {second} --force", user_id="UAPPROVER")
    assert stack.services.listings.get_scheduled_job(ADMIN, second).approval_state is ApprovalState.APPROVED


def test_approve_by_command_takes_a_comment_and_the_same_refusals_as_the_button(stack: Stack) -> None:
    first = schedule(stack, 'testjobs.ApprovalJob --at "2030-01-16 09:00"')
    stack.deliver()
    [message] = stack.posted(APPROVAL_CHANNEL)
    ack = stack.slack.command(f"approve {first} --forse", user_id="UAPPROVER")  # a typo is no comment
    assert ack.json is not None and ack.json["response_type"] == "ephemeral" and "not `--forse`" in ack.json["text"]
    assert "You can't approve this request" in reply(stack, f"approve {first} fine by me", user_id="UBOB")
    assert ApprovalState.PENDING is stack.services.listings.get_scheduled_job(ADMIN, first).approval_state
    long_comment = "x" * 2001
    assert "at most 2000 characters" in reply(stack, f"approve {first} {long_comment}", user_id="UAPPROVER")

    assert "you approved" in reply(stack, f'approve {first} "checked the diff" & <rollback ready>',
                                   user_id="UAPPROVER")
    record = stack.services.listings.get_scheduled_job(ADMIN, first)
    assert record.approval_state is ApprovalState.APPROVED
    assert [(v.user_id, v.comment) for v in record.approvals] == [
        ("UAPPROVER", "checked the diff & <rollback ready>")]
    assert record.decision_reason is None
    stack.deliver()
    [update] = [c for c in stack.fake.calls_to("chat.update") if c.params["ts"] == message.response["ts"]]
    assert "Approved* by <@UAPPROVER>" in text_of(update)
    assert "checked the diff &amp; &lt;rollback ready&gt;" in text_of(update)
    [told] = stack.posted("UALICE")
    assert "approved by <@UAPPROVER>" in text_of(told) and "checked the diff" in text_of(told)
    assert "already approved by <@UAPPROVER>" in reply(stack, f"approve {first} again", user_id="UAPPROVER2")

    # Past due: a comment is no confirmation; --force is.
    second = schedule(stack, 'testjobs.ApprovalJob --at "2030-01-17 09:00"', user_id="UBOB")
    second = next(r.id for r in stack.services.listings.list_approval_queue(ADMIN).items)
    stack.clock.advance(days=3)
    assert f"approve {second[:8]} --force" in reply(stack, f"approve {second} looks fine", user_id="UAPPROVER")
    assert "you approved" in reply(stack, f"approve {second} looks fine --force", user_id="UAPPROVER")
    record = stack.services.listings.get_scheduled_job(ADMIN, second)
    assert record.approval_state is ApprovalState.APPROVED
    assert [(v.user_id, v.comment) for v in record.approvals] == [("UAPPROVER", "looks fine")]


def test_results_lists_recent_runs(stack: Stack) -> None:
    reply(stack, "run testjobs.TestFail --now", user_id="UALICE")
    run_jobs(stack)
    listing = reply(stack, "results testjobs.TestFail", user_id="UALICE")
    assert "Failed" in listing and "testjobs.TestFail" in listing
    assert "No results yet." in reply(stack, "results testjobs.TestPass", user_id="UALICE")


def test_app_home_shows_how_long_each_request_waiting_for_you_has_waited(stack: Stack) -> None:
    older = schedule(stack, 'testjobs.ApprovalJob --at "2030-01-20 09:00" --name Older', user_id="UALICE")
    stack.clock.advance(hours=2, minutes=5)
    newer = schedule(stack, 'testjobs.ApprovalJob --at "2030-01-19 09:00" --name Newer', user_id="UBOB")
    stack.clock.advance(days=1, hours=1)
    stack.slack.app_home_opened(user_id="UAPPROVER")
    home = stack.fake.wait_for("views.publish")[0]
    texts = [text_of_block(b) for b in home_blocks(home)]
    waits: dict[str, str] = {}
    waiting = ""
    for text in texts:  # each request's blocks come after the line saying how long it has waited
        if text.startswith("⏳ Waiting for"):
            waiting = text
        for scheduled_job_id in (older, newer):
            if f"ID `{scheduled_job_id[:8]}`" in text:
                waits[scheduled_job_id] = waiting
    assert "Waiting for 1 d 3 h" in waits[older] and "Waiting for 1 d 1 h" in waits[newer]
    # Once approved it no longer waits for you; a request you made yourself never does.
    reply(stack, f"approve {older}", user_id="UAPPROVER")
    stack.slack.app_home_opened(user_id="UAPPROVER")
    again = text_of(stack.fake.wait_for("views.publish", 2)[-1])
    assert "Waiting for your approval (1)" in again and older[:8] not in again.split("Your requests")[0]
    stack.slack.app_home_opened(user_id="UBOB")
    bob = text_of(stack.fake.wait_for("views.publish", 3)[-1])
    assert "Waiting for your approval (0)" in bob


def home_blocks(call: Call) -> list[dict[str, Any]]:
    view = call.params["view"]
    view = json.loads(view) if isinstance(view, str) else view
    return list(view["blocks"])


def text_of_block(block: dict[str, Any]) -> str:
    texts: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "text" and isinstance(value, str):
                    texts.append(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(block)
    return " ".join(texts)


def test_app_home_shows_requests_approvals_upcoming_and_results(stack: Stack) -> None:
    pending = schedule(stack, 'testjobs.ApprovalJob --at "2030-01-16 09:00"', user_id="UALICE")
    schedule(stack, 'testjobs.TestPass --every daily --start "2030-01-16 07:00" --name Morning', user_id="UAPPROVER")
    reply(stack, "run testjobs.TestPass --now", user_id="UAPPROVER")
    run_jobs(stack)

    assert stack.slack.app_home_opened(user_id="UAPPROVER").status == 200
    home_call = stack.fake.wait_for("views.publish")[0]
    assert home_call.params["user_id"] == "UAPPROVER"
    home = home_call.params["view"]
    text = text_of(home_call)
    assert "Waiting for your approval (1)" in text and pending[:8] in text
    assert "Your requests (1)" in text and "Morning" in text
    assert "Upcoming runs" in text and "Recent results" in text and "Completed" in text
    approve = button(home_call, "Approve")
    stack.slack.click_in_home(approve["action_id"], approve["value"], user_id="UAPPROVER", view=home)
    redrawn = stack.fake.wait_for("views.publish", 2)[-1]  # the Home tab at once, saying what the click did
    assert redrawn.params["user_id"] == "UAPPROVER"
    assert "you approved" in text_of(redrawn) and "Waiting for your approval (0)" in text_of(redrawn)
    assert stack.fake.calls_to("views.open") == []
    assert stack.services.listings.get_scheduled_job(ADMIN, pending).approval_state is ApprovalState.APPROVED

    refresh = button(home_call, "Refresh")
    assert refresh["action_id"] == ids.HOME_REFRESH
    stack.slack.click_in_home(ids.HOME_REFRESH, "refresh", user_id="UAPPROVER", view=home)
    again = stack.fake.wait_for("views.publish", 3)[-1]
    assert "Waiting for your approval (0)" in text_of(again) and "you approved" not in text_of(again)

    stack.slack.app_home_opened(user_id="UALICE")
    alice = text_of(stack.fake.wait_for("views.publish", 4)[-1])
    assert "Waiting for your approval (0)" in alice and "approved" in alice
