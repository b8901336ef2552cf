"""Buttons and menus instead of typed IDs: a menu (Pause / Resume / Cancel) on each scheduled job of ``/jobs
scheduled`` and the Home tab's "Your requests", a Run button per job in ``/jobs list``, "Run a job" on the Home tab,
and every listing redrawn after a click (``/jobs queue`` and the Home tab too), each click checked against the user
who clicked."""

from __future__ import annotations

import json
from typing import Any

from bot.domain.approvals import ApprovalState
from handlers import ids
from tests.conftest import ADMIN
from tests.fake_slack import Call, blocks_of, text_of
from tests.slack.conftest import Stack, button

DAILY = 'testjobs.TestPass --every daily --start "2030-01-16 09:00" --name Nightly'


def command(stack: Stack, text: str, *, user_id: str) -> Call:
    before = len(stack.fake.calls_to("response_url"))
    stack.slack.command(text, user_id=user_id)
    return stack.fake.wait_for("response_url", before + 1)[-1]


def menu_options(call: Call, name: str) -> list[str]:
    """The values of the menu on the line that names ``name``."""
    for block in blocks_of(call):
        if name in str(block.get("text")) and block.get("accessory", {}).get("type") == "overflow":
            assert block["accessory"]["action_id"] == ids.SCHEDULED_MENU
            return [o["value"] for o in block["accessory"]["options"]]
    raise AssertionError(f"no menu for {name!r}")


def choose(stack: Stack, value: str, *, user_id: str, home: dict[str, Any] | None = None) -> Call:
    """Choose a menu option; the call that answered it (the redrawn listing or Home tab, or a refusal)."""
    method = "views.publish" if home is not None else "response_url"
    before = len(stack.fake.calls_to(method))
    stack.slack.choose(ids.SCHEDULED_MENU, value, user_id=user_id, home_view=home)
    return stack.fake.wait_for(method, before + 1)[-1]


def test_scheduled_jobs_are_paused_resumed_and_cancelled_from_their_menu_and_the_list_is_redrawn(
        stack: Stack) -> None:
    command(stack, f"run {DAILY}", user_id="UALICE")
    [record] = stack.services.listings.list_scheduled_jobs(ADMIN).items
    listing = command(stack, "scheduled", user_id="UALICE")
    assert menu_options(listing, "Nightly") == [f"pause:{record.id}", f"cancel:{record.id}"]

    paused = choose(stack, f"pause:{record.id}", user_id="UALICE")
    assert paused.params["replace_original"] is True and paused.params["response_type"] == "ephemeral"
    assert paused.params["text"].startswith("Done: you paused Nightly")
    assert "*paused*" in text_of(paused) and menu_options(paused, "Nightly") == [f"resume:{record.id}",
                                                                                 f"cancel:{record.id}"]
    assert stack.services.listings.get_scheduled_job(ADMIN, record.id).paused

    resumed = choose(stack, f"resume:{record.id}", user_id="UALICE")
    assert menu_options(resumed, "Nightly")[0] == f"pause:{record.id}"
    assert not stack.services.listings.get_scheduled_job(ADMIN, record.id).paused

    cancelled = choose(stack, f"cancel:{record.id}", user_id="UALICE")
    assert "you cancelled" in text_of(cancelled) and "No scheduled jobs." in text_of(cancelled)
    assert not stack.services.listings.get_scheduled_job(ADMIN, record.id).enabled


def test_a_one_off_offers_only_cancel(stack: Stack) -> None:
    command(stack, 'run testjobs.TestPass --at "2030-01-16 09:00" --name Once', user_id="UALICE")
    [record] = stack.services.listings.list_scheduled_jobs(ADMIN).items
    assert menu_options(command(stack, "scheduled", user_id="UALICE"), "Once") == [f"cancel:{record.id}"]


def test_the_menu_offers_only_what_the_viewer_may_do_and_none_to_who_may_only_look(stack: Stack) -> None:
    command(stack, f"run {DAILY}", user_id="UALICE")
    [record] = stack.services.listings.list_scheduled_jobs(ADMIN).items
    for onlooker in ("UVIEWER", "UBOB"):  # may see ALICE's schedule, may not change or cancel it
        listing = command(stack, "scheduled", user_id=onlooker)
        assert "Nightly" in text_of(listing)
        assert [b for b in blocks_of(listing) if b.get("accessory", {}).get("type") == "overflow"] == []
    approver = command(stack, "scheduled", user_id="UAPPROVER")  # change_ and delete_scheduledjob
    assert menu_options(approver, "Nightly") == [f"pause:{record.id}", f"cancel:{record.id}"]


def test_a_menu_click_is_checked_against_the_user_who_clicked(stack: Stack) -> None:
    command(stack, f"run {DAILY}", user_id="UALICE")
    [record] = stack.services.listings.list_scheduled_jobs(ADMIN).items
    refused = choose(stack, f"pause:{record.id}", user_id="UVIEWER")  # may see it, may not change it
    assert refused.params["replace_original"] is False and "permission" in text_of(refused).lower()
    assert not stack.services.listings.get_scheduled_job(ADMIN, record.id).paused
    forged = choose(stack, f"cancel:{record.id}", user_id="UBOB")  # a click on an option never offered to him
    assert forged.params["replace_original"] is False and "permission" in text_of(forged).lower()
    assert stack.services.listings.get_scheduled_job(ADMIN, record.id).enabled
    stale = choose(stack, "explode:" + record.id, user_id="UALICE")
    assert "out of date" in text_of(stale)


def test_the_home_tabs_requests_have_menus_and_the_tab_is_redrawn_after_a_choice(stack: Stack) -> None:
    command(stack, f"run {DAILY}", user_id="UALICE")
    [record] = stack.services.listings.list_scheduled_jobs(ADMIN).items
    stack.slack.app_home_opened(user_id="UALICE")
    home_call = stack.fake.wait_for("views.publish")[0]
    assert menu_options(home_call, "Nightly") == [f"pause:{record.id}", f"cancel:{record.id}"]
    redrawn = choose(stack, f"cancel:{record.id}", user_id="UALICE", home=home_call.params["view"])
    assert redrawn.params["user_id"] == "UALICE"
    assert "you cancelled" in text_of(redrawn) and "You have no pending or active requests." in text_of(redrawn)
    assert not stack.services.listings.get_scheduled_job(ADMIN, record.id).enabled


def test_jobs_list_has_a_run_button_per_job_that_can_run_which_opens_its_modal(stack: Stack) -> None:
    listing = command(stack, "list", user_id="UALICE")
    runs = {b["accessibility_label"]: b for b in blocks_of_buttons(listing) if b["action_id"] == ids.JOB_RUN}
    assert "Run Test pass" in runs and "Run Sensitive approval job" not in runs  # that one can never run
    assert "*Run* opens a form" in text_of(listing)
    stack.slack.click(ids.JOB_RUN, runs["Run API test job"]["value"], user_id="UALICE", ephemeral=True)
    stack.fake.wait_for("views.open")
    modal = stack.opened_view()
    assert modal["callback_id"] == ids.RUN_MODAL and "API test job" in json.dumps(modal["blocks"][0])


def test_the_home_tab_runs_a_job_through_a_picker(stack: Stack) -> None:
    stack.slack.app_home_opened(user_id="UALICE")
    home_call = stack.fake.wait_for("views.publish")[0]
    run = button(home_call, "Run a job")
    stack.slack.click_in_home(run["action_id"], run["value"], user_id="UALICE", view=home_call.params["view"])
    stack.fake.wait_for("views.open")
    picker = stack.opened_view()
    assert picker["callback_id"] == ids.JOB_PICKER_MODAL
    select = picker["blocks"][0]["accessory"]
    assert select["action_id"] == ids.JOB_PICK and "submit" not in picker  # choosing is enough
    names = [o["text"]["text"] for o in select["options"]]
    assert "Test pass" in names and "Sensitive approval job" not in names
    test_pass = next(o["value"] for o in select["options"] if o["text"]["text"] == "Test pass")
    stack.slack.select_in_view(picker, block_id=ids.JOB_PICK_BLOCK, action_id=ids.JOB_PICK, value=test_pass,
                               user_id="UALICE", view_id="V0PICK")
    update = stack.fake.wait_for("views.update")[0]
    assert update.params["view_id"] == "V0PICK" and update.params["hash"] == "hash-V0PICK"
    assert update.params["view"]["callback_id"] == ids.RUN_MODAL and "Test pass" in json.dumps(update.params["view"])


def test_the_queue_is_redrawn_after_approve_and_after_a_denial_submitted_from_it(stack: Stack) -> None:
    command(stack, 'run testjobs.ApprovalJob --at "2030-01-16 09:00" --name First', user_id="UALICE")
    command(stack, 'run testjobs.ApprovalJob --at "2030-01-16 10:00" --name Second', user_id="UALICE")
    queue = command(stack, "queue", user_id="UAPPROVER")
    first, second = [b["value"] for b in blocks_of_buttons(queue) if b["text"]["text"] == "Approve"]
    before = len(stack.fake.calls_to("response_url"))
    stack.slack.click(ids.APPROVE, first, user_id="UAPPROVER", ephemeral=True)
    redrawn = stack.fake.wait_for("response_url", before + 1)[-1]
    assert redrawn.params["replace_original"] is True
    assert redrawn.params["text"].startswith("Done: you approved First (Approval job (testjobs.ApprovalJob)), ID ")
    assert "you approved" in text_of(redrawn) and "1 request awaiting approval" in text_of(redrawn)
    assert [b["value"] for b in blocks_of_buttons(redrawn) if b["text"]["text"] == "Approve"] == [second]

    stack.slack.click(ids.DENY, second, user_id="UAPPROVER", ephemeral=True)
    stack.fake.wait_for("views.open")
    deny_modal = stack.opened_view()
    origin = json.loads(deny_modal["private_metadata"])["origin"]
    assert origin["response_url"].startswith(stack.fake.url.rstrip("/").rsplit("/", 1)[0])
    ack = stack.slack.submit(deny_modal, {ids.DENY_REASON_BLOCK: "not now"}, user_id="UAPPROVER")
    assert ack.json is not None and ack.json["response_action"] == "update"
    after = stack.fake.wait_for("response_url", before + 2)[-1]
    assert after.params["replace_original"] is True and "Nothing awaits approval." in text_of(after)
    assert stack.services.listings.get_scheduled_job(ADMIN, second).approval_state is ApprovalState.DENIED


def blocks_of_buttons(call: Call) -> list[dict[str, Any]]:
    found = []
    for block in blocks_of(call):
        for element in block.get("elements", []) + ([block["accessory"]] if "accessory" in block else []):
            if element.get("type") == "button":
                found.append(element)
    return found


def test_a_denial_submitted_from_the_home_tab_redraws_it(stack: Stack) -> None:
    command(stack, 'run testjobs.ApprovalJob --at "2030-01-16 09:00" --name First', user_id="UALICE")
    stack.slack.app_home_opened(user_id="UAPPROVER")
    home_call = stack.fake.wait_for("views.publish")[0]
    deny = button(home_call, "Deny")
    stack.slack.click_in_home(deny["action_id"], deny["value"], user_id="UAPPROVER", view=home_call.params["view"])
    stack.fake.wait_for("views.open")
    deny_modal = stack.opened_view()
    assert json.loads(deny_modal["private_metadata"])["origin"] == {"home": "1"}
    stack.slack.submit(deny_modal, {ids.DENY_REASON_BLOCK: "not now"}, user_id="UAPPROVER")
    redrawn = stack.fake.wait_for("views.publish", 2)[-1]
    assert redrawn.params["user_id"] == "UAPPROVER"
    assert "you denied" in text_of(redrawn) and "Waiting for your approval (0)" in text_of(redrawn)


def test_long_listings_keep_slacks_limits_and_say_how_many_are_shown() -> None:
    from dataclasses import replace

    from bot.domain.management import ManageAction
    from bot.domain.records import Page
    from handlers import blocks
    from tests.slack.limits import check_message
    from tests.slack.test_run_blocks import DUE, job, schedule

    many = [replace(schedule(f"Backup {i}"), id=f"9b1d0000-0000-0000-0000-{i:012d}") for i in range(60)]
    menus = {r.id: (ManageAction.PAUSE, ManageAction.CANCEL) for r in many}
    listing = blocks.build_scheduled_list(Page(count=60, items=many), now=DUE, menus=menus,
                                          notice="Done: you paused *x*.")
    assert check_message(listing, "scheduled") == [] and len(listing["blocks"]) == 50
    assert listing["text"] == "Done: you paused x. Scheduled jobs: 60"
    assert listing["blocks"][-1]["elements"][0]["text"] == "Showing 47 of 60."
    jobs = [replace(job(), id=f"j{i}", name=f"Job {i}") for i in range(60)]
    listed = blocks.build_job_list(jobs)
    assert check_message(listed, "jobs") == [] and len(listed["blocks"]) <= 50
    assert listed["blocks"][-1]["elements"][0]["text"].startswith("Showing 47 of 60.")
    assert blocks.build_scheduled_list(Page(count=0, items=[]), now=DUE, menus={})["text"] == "No scheduled jobs."
