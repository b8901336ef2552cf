"""The whole Slack flow in a real browser: what Alice, Bob and Carol see and do on the playground page reaches
jobgate as signed Slack requests, and what jobgate sends comes back on the page as Slack would show it.

Assertions are on stable things (the job, its variables, the buttons' labels, ``#approvals``, "Only visible to you"),
not on the wording of messages.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

from playwright.sync_api import Locator, Page, expect

from tests.playground.conftest import Playground

WAIT = 20_000
"""Milliseconds the page may take to show what jobgate sends (jobs run in worker processes; Slack's pace)."""


def act_as(page: Page, name: str) -> None:
    page.get_by_label("User").select_option(label=name)


def open_conversation(page: Page, name: str) -> None:
    page.get_by_role("link", name=name, exact=True).click()


def type_command(page: Page, text: str) -> None:
    box = page.get_by_role("textbox", name="Message")
    box.fill(text)
    box.press("Enter")


def message_with(page: Page, *texts: str) -> Locator:
    """The conversation's top-level messages showing every one of ``texts``."""
    found = page.locator("#conv-body > article.msg")
    for text in texts:
        found = found.filter(has_text=text)
    return found


def submit(dialog: Locator) -> None:
    """Press the modal's submit button (it carries the view's submit label)."""
    dialog.locator(".modal-foot .bk-primary").click()


def test_alice_requests_bob_dry_runs_and_approves_alice_hears(page: Page) -> None:
    act_as(page, "Alice")
    type_command(page, "/jobs run maintenance.RebootDevice")
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible(timeout=WAIT)
    expect(dialog.get_by_label("Device")).to_be_visible()
    dialog.get_by_label("Device").fill("edge7")
    submit(dialog)
    expect(dialog.get_by_label("Device")).to_have_count(0, timeout=WAIT)  # the modal turned into its confirmation
    expect(dialog).to_contain_text("Reboot device")
    dialog.get_by_role("button", name="Close").first.click()
    expect(page.get_by_role("dialog")).to_have_count(0)

    act_as(page, "Bob")
    open_conversation(page, "approvals")
    expect(page.get_by_role("heading", name="#approvals")).to_be_visible()
    card = message_with(page, "Reboot device", "edge7")
    expect(card).to_have_count(1, timeout=WAIT)
    ts = card.get_attribute("data-ts")
    for label in ("Approve", "Deny", "Dry run"):
        expect(request_button(card, label)).to_be_visible()

    request_button(card, "Dry run").click()
    expect(message_with(page, "Only visible to you", "Reboot device").first).to_be_visible(timeout=WAIT)
    thread = card.locator("details.thread")
    expect(thread).to_be_visible(timeout=WAIT)
    thread.locator("summary").click()
    expect(thread.locator("article.msg").first).to_contain_text("edge7", timeout=WAIT)

    request_button(card, "Approve").click()
    expect(request_button(card, "Approve")).to_have_count(0, timeout=WAIT)
    expect(request_button(card, "Deny")).to_have_count(0)
    expect(card).to_contain_text("(edited)")
    assert card.get_attribute("data-ts") == ts  # updated in place, not posted again
    expect(message_with(page, "Reboot device", "edge7")).to_have_count(1)

    clock_time = card.locator("time").filter(has_text=re.compile(r"\d:\d\d"))  # not "2 minutes ago"
    bobs_time = clock_time.first.inner_text()  # a <!date^…> token, in Bob's zone (New York)
    act_as(page, "Alice")
    assert clock_time.first.inner_text() != bobs_time  # the same token, in Alice's zone (Berlin)

    open_conversation(page, "jobgate")
    expect(page.get_by_role("heading", name="jobgate")).to_be_visible()
    # one direct message about Bob's decision, one about the run that followed (with its log in the thread)
    dms = message_with(page, "Reboot device")
    expect(dms).to_have_count(2, timeout=WAIT)
    expect(dms.first).to_contain_text("@Bob")
    run_thread = dms.last.locator("details.thread")
    expect(run_thread).to_be_visible(timeout=WAIT)
    run_thread.locator("summary").click()
    expect(run_thread).to_contain_text("edge7")

    act_as(page, "Carol")
    expect(message_with(page, "Reboot device")).to_have_count(0)  # Alice's direct messages are hers alone


def request_button(where: Locator, verb: str) -> Locator:
    """A request's button by the name a screen reader reads out: its verb, the job, and who asked (on the approval
    message) or the request's short ID (in listings)."""
    return where.get_by_role("button", name=re.compile(rf"^{verb} Reboot device (for @Alice|[0-9a-f]{{8}})$"))


def test_a_past_due_request_asks_for_confirmation(page: Page) -> None:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=20)
    act_as(page, "Alice")
    type_command(page, f"/jobs run maintenance.RebootDevice device=late3 --at {start.isoformat()} --name late3")
    expect(message_with(page, "Only visible to you", "late3")).to_be_visible(timeout=WAIT)

    act_as(page, "Bob")
    open_conversation(page, "approvals")
    expect(message_with(page, "Reboot device", "late3")).to_have_count(1, timeout=WAIT)
    # The request becomes past due when the wall clock passes its start time, which the test chose above.
    time.sleep(max(0.0, start.timestamp() - time.time() + 1))
    type_command(page, "/jobs queue")
    queue = message_with(page, "Only visible to you", "late3")
    expect(queue).to_have_count(1, timeout=WAIT)
    request_button(queue, "Approve").click()
    confirm = page.get_by_role("dialog")
    expect(confirm).to_be_visible()
    expect(confirm).to_contain_text("late3")
    buttons = confirm.locator(".modal-foot button")
    expect(buttons).to_have_count(2)
    buttons.last.click()  # the confirm button, after the deny one as in Slack
    card = message_with(page, "Reboot device", "late3").filter(has_not_text="Only visible to you")
    expect(request_button(card, "Approve")).to_have_count(0, timeout=WAIT)


def test_bad_input_shows_an_inline_error_and_keeps_what_was_typed(page: Page) -> None:
    act_as(page, "Alice")
    type_command(page, "/jobs run maintenance.RebootDevice")
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible(timeout=WAIT)
    dialog.get_by_label("Device").fill("Not A Device!")
    submit(dialog)
    error = dialog.get_by_role("alert")
    expect(error).to_be_visible(timeout=WAIT)
    expect(dialog.locator(".bk-has-error")).to_contain_text("Device")
    expect(dialog.get_by_label("Device")).to_have_value("Not A Device!")
    dialog.get_by_label("Device").fill("core9")
    submit(dialog)
    expect(dialog.get_by_label("Device")).to_have_count(0, timeout=WAIT)


def test_the_schedule_type_redraws_the_modal_with_views_update(page: Page) -> None:
    act_as(page, "Alice")
    type_command(page, "/jobs run maintenance.BackupConfigs")
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible(timeout=WAIT)
    dialog.get_by_label("Site").select_option(label="Frankfurt 1")
    dialog.get_by_label("When").select_option(label="Once in the future")
    expect(dialog.get_by_label("Start date")).to_be_visible(timeout=WAIT)
    expect(dialog.get_by_label("Site")).to_have_value("fra1")  # kept across views.update, as Slack keeps it


def test_the_home_tab_and_private_answers(page: Page) -> None:
    act_as(page, "Carol")
    open_conversation(page, "general")
    type_command(page, "/jobs list")
    answer = message_with(page, "Only visible to you")
    expect(answer.filter(has_text="maintenance.BackupConfigs")).to_have_count(1, timeout=WAIT)
    act_as(page, "Bob")
    expect(message_with(page, "maintenance.BackupConfigs")).to_have_count(0)  # Carol's answer is hers alone
    open_conversation(page, "Home")
    expect(page.locator(".home")).to_be_visible(timeout=WAIT)


def test_the_command_says_where_the_page_is(playground: Playground) -> None:
    assert f"jobgate playground: open {playground.url.rstrip('/')} " in playground.output()
    print(f"jobgate playground answered {playground.started_in:.2f} s after it was started")  # bench/ measures it
