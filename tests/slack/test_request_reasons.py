"""Why a run is asked for: ``--reason`` on ``/jobs run`` and the run modal's "Why?" field, stored on the request and
shown to the approvers."""

from __future__ import annotations

from handlers import ids
from tests.conftest import ADMIN
from tests.fake_slack import text_of
from tests.slack.conftest import APPROVAL_CHANNEL, Stack


def answer(stack: Stack, count: int = 1) -> str:
    call = stack.fake.wait_for("response_url", count)[-1]
    assert call.params["response_type"] == "ephemeral"
    return text_of(call)


def test_reason_on_the_command_line_is_kept_on_the_request(stack: Stack) -> None:
    stack.slack.command('run testjobs.ApprovalJob device=core-sw-17 --reason "Firmware fix for INC-42 <now>"',
                        user_id="UALICE")
    said = answer(stack)
    assert "📨 Sent to approvers (`" in said
    assert "*Approval job · core-sw-17* (`testjobs.ApprovalJob`), to run as soon as it is approved; it waits" in said
    assert "Why: Firmware fix for INC-42 &lt;now&gt;." in said
    record = stack.services.listings.list_approval_queue(ADMIN).items[0]
    assert record.reason == "Firmware fix for INC-42 <now>" and record.data == {"device": "core-sw-17"}
    stack.deliver()  # the approvers read it first thing
    (card,) = stack.posted(APPROVAL_CHANNEL)
    why = {"type": "mrkdwn", "text": "*Why*\nFirmware fix for INC-42 &lt;now&gt;"}
    assert why in card.params["blocks"][2]["fields"]
    assert "Why: Firmware fix for INC-42 &lt;now&gt;." in card.params["text"]


def test_reason_with_a_schedule_is_kept_and_a_blank_one_is_none(stack: Stack) -> None:
    stack.slack.command('run testjobs.ApprovalJob --every daily --reason "nightly drift check"', user_id="UALICE")
    answer(stack)
    stack.slack.command('run testjobs.ApprovalJob --reason "  "', user_id="UBOB")
    answer(stack, 2)
    reasons = {r.user_id: r.reason for r in stack.services.listings.list_approval_queue(ADMIN).items}
    assert reasons == {"UALICE": "nightly drift check", "UBOB": None}


def test_too_long_a_reason_is_refused_in_words_the_user_typed(stack: Stack) -> None:
    stack.slack.command(f'run testjobs.ApprovalJob --reason "{"x" * 501}"', user_id="UALICE")
    text = answer(stack)
    assert "Why" in text and "at most 500 characters (it has 501)" in text
    assert "reason:" not in text and "*reason*" not in text
    assert stack.services.listings.list_approval_queue(ADMIN).count == 0


def test_the_run_modal_asks_why_and_keeps_the_answer(stack: Stack) -> None:
    stack.slack.command("run testjobs.ApprovalJob", user_id="UALICE")
    stack.fake.wait_for("views.open")
    modal = stack.opened_view()
    why = next(b for b in modal["blocks"] if b.get("block_id") == ids.REQUEST_REASON_BLOCK)
    assert why["label"]["text"] == "Why?" and why["optional"] is True
    assert why["element"]["max_length"] == 500
    ack = stack.slack.submit(modal, {ids.REQUEST_REASON_BLOCK: "Reboot after the kernel patch"}, user_id="UALICE")
    assert ack.json is not None and ack.json["response_action"] == "update", ack.json
    assert stack.services.listings.list_approval_queue(ADMIN).items[0].reason == "Reboot after the kernel patch"


def test_a_job_run_at_once_without_approval_does_not_ask_why(stack: Stack) -> None:
    stack.slack.command("run testjobs.TestPass", user_id="UALICE")
    stack.fake.wait_for("views.open")
    assert ids.REQUEST_REASON_BLOCK not in {b.get("block_id") for b in stack.opened_view()["blocks"]}
