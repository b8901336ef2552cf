"""Every payload a Slack journey records, drawn by the playground's Block Kit renderer (under node): nothing is
"unsupported", and every word of every text shows. ``tests/typecheck/run.py`` does the same for the payloads of all
the Slack scenarios."""

from __future__ import annotations

from typing import Any

from handlers import ids
from tests.playground.renderer import render_report
from tests.slack.conftest import APPROVAL_CHANNEL, Stack, press, run_jobs


def recorded(stack: Stack) -> list[dict[str, Any]]:
    calls = [{"method": c.method, "params": c.params} for c in stack.fake.calls if c.ok and (
        "blocks" in c.params or "view" in c.params or "text" in c.params)]
    acks = [{"method": f"ack.{a.kind}", "params": a.json} for a in stack.slack.acks
            if a.json and ("blocks" in a.json or "view" in a.json)]
    return calls + acks


def test_a_journey_renders_whole(stack: Stack) -> None:
    stack.slack.command("help", user_id="UALICE")
    stack.slack.command("run testjobs.APITestJob", user_id="UALICE")
    stack.fake.wait_for("views.open")
    modal = stack.opened_view()
    stack.slack.select_in_view(modal, block_id=ids.SCHEDULE_TYPE_BLOCK, action_id=ids.SCHEDULE_TYPE, value="daily",
                               user_id="UALICE")
    stack.fake.wait_for("views.update")
    stack.slack.submit(modal, {"var:var2": "not a number"}, user_id="UALICE")  # an inline error in the ack
    stack.slack.command('run testjobs.ApprovalJob device=core-2 --at "2030-01-16 09:00"', user_id="UALICE")
    stack.fake.wait_for("response_url")
    stack.clock.advance(days=2)  # the approval message is drawn past due: Approve carries a confirm dialog
    stack.deliver()
    message = stack.posted(APPROVAL_CHANNEL)[0]
    press(stack, message, "Dry run", user_id="UAPPROVER")
    run_jobs(stack)
    stack.deliver()
    press(stack, message, "Approve", user_id="UAPPROVER")
    stack.deliver()
    run_jobs(stack)
    stack.deliver()
    stack.slack.command("queue", user_id="UAPPROVER")
    stack.slack.command("results", user_id="UALICE")
    stack.slack.app_home_opened(user_id="UALICE")
    stack.fake.wait_for("views.publish")

    payloads = recorded(stack)
    methods = {p["method"] for p in payloads}
    assert {"chat.postMessage", "chat.update", "views.open", "views.update", "views.publish", "response_url",
            "ack.command"} <= methods
    report = render_report(payloads)
    assert [r for r in report if r["unsupported"] or r["missing"]] == []
    assert sum(r["blocks"] for r in report) > 50
