"""The run modal as a person fills it in: variables first, then When; the zone named; the start prefilled with the
next full hour; "As soon as approved" for jobs that need approval; a crontab previewed in words as it is typed (the
words the approval message uses); and a one-line result saying what happens next."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.domain.approvals import ApprovalState
from bot.domain.records import JobRecord
from bot.domain.schedules import IntervalType
from handlers import blocks, ids
from handlers.redraw import update_view
from tests.fake_slack import FakeSlack
from tests.slack.conftest import Stack
from tests.slack.limits import check_view

NOW = datetime(2030, 1, 15, 12, 10, tzinfo=UTC)  # 13:10 in Berlin


def job(*, approval: bool = False, sensitive: bool = False) -> JobRecord:
    return JobRecord(id="j1", slug="maintenance.RebootDevice", name="Reboot device", description="Reboot one device",
                     module_name="maintenance", class_name="RebootDevice", source="local", enabled=True,
                     installed=True, approval_required=approval, has_sensitive_variables=sensitive, hidden=False,
                     soft_time_limit=None, time_limit=None,
                     variables={"device": {"kind": "string", "required": True, "label": "Device"}})


def modal(interval: IntervalType, **kwargs: Any) -> dict[str, Any]:
    built = blocks.build_run_modal(kwargs.pop("job", job()), interval=interval, time_zone="Europe/Berlin", now=NOW,
                                   **kwargs)
    assert check_view(built, "modal") == []
    return built


def inputs(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {b["block_id"]: b for b in view["blocks"] if b["type"] == "input"}


def texts(view: dict[str, Any]) -> list[str]:
    return [b["elements"][0]["text"] for b in view["blocks"] if b["type"] == "context"]


@pytest.mark.parametrize(("interval", "fields"), [
    (IntervalType.IMMEDIATELY, []),
    (IntervalType.FUTURE, [ids.SCHEDULE_NAME_BLOCK, ids.START_DATE_BLOCK, ids.START_TIME_BLOCK]),
    (IntervalType.HOURLY, [ids.SCHEDULE_NAME_BLOCK, ids.START_DATE_BLOCK, ids.START_TIME_BLOCK]),
    (IntervalType.DAILY, [ids.SCHEDULE_NAME_BLOCK, ids.START_DATE_BLOCK, ids.START_TIME_BLOCK]),
    (IntervalType.WEEKLY, [ids.SCHEDULE_NAME_BLOCK, ids.START_DATE_BLOCK, ids.START_TIME_BLOCK]),
    (IntervalType.CUSTOM, [ids.SCHEDULE_NAME_BLOCK, ids.START_DATE_BLOCK, ids.START_TIME_BLOCK, ids.CRONTAB_BLOCK]),
])
def test_each_schedule_type_shows_variables_first_then_when_and_only_its_fields(
        interval: IntervalType, fields: list[str]) -> None:
    view = modal(interval)
    why = [ids.REQUEST_REASON_BLOCK] if interval is not IntervalType.IMMEDIATELY else []  # a schedule may say why
    assert list(inputs(view)) == ["var:device", *why, ids.SCHEDULE_TYPE_BLOCK, *fields]
    when = inputs(view)[ids.SCHEDULE_TYPE_BLOCK]
    assert when["label"]["text"] == "When" and when["dispatch_action"] is True
    assert view["submit"]["text"] == ("Run" if interval is IntervalType.IMMEDIATELY else "Schedule")
    zone = "🌍 Times are in Europe/Berlin — your Slack time zone."
    assert (zone in texts(view)) is (interval is not IntervalType.IMMEDIATELY)
    if fields:
        assert inputs(view)[ids.START_TIME_BLOCK]["hint"]["text"].startswith("Europe/Berlin — your Slack time zone")


@pytest.mark.parametrize("interval", [IntervalType.FUTURE, IntervalType.HOURLY, IntervalType.DAILY,
                                      IntervalType.WEEKLY])
def test_the_start_is_prefilled_with_today_and_the_next_full_hour_in_the_users_zone(interval: IntervalType) -> None:
    fields = inputs(modal(interval))
    assert fields[ids.START_DATE_BLOCK]["element"]["initial_date"] == "2030-01-15"
    assert fields[ids.START_TIME_BLOCK]["element"]["initial_time"] == "14:00"  # 13:10 in Berlin
    assert fields[ids.START_DATE_BLOCK]["optional"] is False


def test_a_custom_schedule_has_no_prefilled_start_and_a_crontab_previewed_in_words() -> None:
    empty = modal(IntervalType.CUSTOM)
    fields = inputs(empty)
    assert "initial_date" not in fields[ids.START_DATE_BLOCK]["element"]
    assert fields[ids.START_DATE_BLOCK]["optional"] is True
    crontab = fields[ids.CRONTAB_BLOCK]
    assert crontab["dispatch_action"] is True
    assert crontab["element"]["dispatch_action_config"]["trigger_actions_on"] == ["on_enter_pressed",
                                                                                "on_character_entered"]
    preview = empty["blocks"][-1]
    assert preview["block_id"] == ids.CRONTAB_PREVIEW_BLOCK
    assert preview["elements"][0]["text"].startswith("Type a crontab to see it in words")
    every = modal(IntervalType.CUSTOM, crontab="*/15 * * * *")["blocks"][-1]["elements"][0]["text"]
    assert every == "🗓️ Every 15 minutes (Europe/Berlin) — next run 2030-01-15 13:15"
    weekdays = modal(IntervalType.CUSTOM, crontab="0 9 * * 1-5")["blocks"][-1]["elements"][0]["text"]
    assert weekdays == "🗓️ At 09:00, Monday through Friday (Europe/Berlin) — next run 2030-01-16 09:00"


@pytest.mark.parametrize(("typed", "why"), [
    ("61 * * * *", "⚠️ Invalid crontab '61 * * * *': minute must be 0-59, got '61'."),
    ("* * *", "⚠️ A crontab needs exactly 5 fields (minute hour day-of-month month day-of-week); got 3."),
    ("@daily", "⚠️ Invalid crontab '@daily': macros such as @daily are not supported; use 5 fields, e.g. "
               "'0 0 * * *'."),
])
def test_an_invalid_crontab_shows_why_in_the_preview(typed: str, why: str) -> None:
    assert modal(IntervalType.CUSTOM, crontab=typed)["blocks"][-1]["elements"][0]["text"] == why


def test_a_job_that_needs_approval_offers_as_soon_as_approved_and_a_sensitive_one_only_that() -> None:
    view = modal(IntervalType.IMMEDIATELY, job=job(approval=True))
    options = [o["text"]["text"] for o in inputs(view)[ids.SCHEDULE_TYPE_BLOCK]["element"]["options"]]
    assert options == ["As soon as approved", "Once in the future", "Hourly", "Daily", "Weekly", "Recurring custom"]
    assert inputs(view)[ids.SCHEDULE_TYPE_BLOCK]["element"]["initial_option"]["text"]["text"] == "As soon as approved"
    assert view["submit"]["text"] == "Request"
    sensitive = modal(IntervalType.IMMEDIATELY, job=job(sensitive=True))
    assert [o["text"]["text"] for o in inputs(sensitive)[ids.SCHEDULE_TYPE_BLOCK]["element"]["options"]] == [
        "Immediately"]


# ------------------------------------------------------------------------------------------------ through Slack


def test_typing_a_crontab_redraws_the_modal_with_its_preview_on_the_views_hash(stack: Stack) -> None:
    stack.slack.command("run testjobs.APITestJob", user_id="UALICE")
    stack.fake.wait_for("views.open")
    opened = stack.opened_view()
    stack.slack.select_in_view(opened, block_id=ids.SCHEDULE_TYPE_BLOCK, action_id=ids.SCHEDULE_TYPE,
                               value="custom", user_id="UALICE", view_id="V0RUN")
    custom = stack.fake.wait_for("views.update")[0].params["view"]
    stack.slack.type_in_view(custom, block_id=ids.CRONTAB_BLOCK, action_id=ids.CRONTAB, value="0 9 * * 1-5",
                             user_id="UALICE", values={ids.SCHEDULE_TYPE_BLOCK: "custom"}, view_id="V0RUN")
    update = stack.fake.wait_for("views.update", 2)[-1]
    assert update.params["view_id"] == "V0RUN" and update.params["hash"] == "hash-V0RUN"
    preview = update.params["view"]["blocks"][-1]["elements"][0]["text"]
    assert preview == "🗓️ At 09:00, Monday through Friday (Europe/Berlin) — next run 2030-01-16 09:00"
    stack.slack.type_in_view(custom, block_id=ids.CRONTAB_BLOCK, action_id=ids.CRONTAB, value="0 9 * *",
                             user_id="UALICE", values={ids.SCHEDULE_TYPE_BLOCK: "custom"}, view_id="V0RUN")
    update = stack.fake.wait_for("views.update", 3)[-1]
    assert update.params["view"]["blocks"][-1]["elements"][0]["text"].startswith(
        "⚠️ A crontab needs exactly 5 fields")


def test_a_preview_overtaken_by_a_newer_one_is_dropped_quietly_other_failures_are_not(fake: FakeSlack) -> None:
    client = WebClient(token="xoxb-test-token", base_url=fake.url)
    view = {"id": "V0RUN", "hash": "stale"}
    fake.fail("views.update", status=200, error="hash_conflict")
    update_view(client, view, modal(IntervalType.CUSTOM, crontab="0 9 * * *"))  # a newer update won: no error
    fake.fail("views.update", status=200, error="view_too_large")
    with pytest.raises(SlackApiError):
        update_view(client, view, modal(IntervalType.CUSTOM))
    assert [c.params["hash"] for c in fake.calls if c.method == "views.update"] == ["stale", "stale"]


def test_the_modal_opens_in_the_users_zone_and_its_result_says_what_happens_next(stack: Stack) -> None:
    stack.slack.command("run testjobs.ApprovalJob", user_id="UALICE")
    stack.fake.wait_for("views.open")
    opened = stack.opened_view()
    when = inputs(opened)[ids.SCHEDULE_TYPE_BLOCK]["element"]
    assert when["initial_option"]["text"]["text"] == "As soon as approved"
    stack.slack.select_in_view(opened, block_id=ids.SCHEDULE_TYPE_BLOCK, action_id=ids.SCHEDULE_TYPE,
                               value="daily", user_id="UALICE", view_id="V0RUN")
    daily = stack.fake.wait_for("views.update")[0].params["view"]
    assert "🌍 Times are in Europe/Berlin — your Slack time zone." in texts(daily)
    assert inputs(daily)[ids.START_TIME_BLOCK]["element"]["initial_time"] == "14:00"  # NOW is 13:00 in Berlin
    ack = stack.slack.submit(daily, {ids.SCHEDULE_TYPE_BLOCK: "daily"}, user_id="UALICE")
    assert ack.json is not None and ack.json["response_action"] == "update"
    shown = ack.json["view"]["blocks"][0]["text"]["text"]
    assert shown.startswith("📨 Sent to approvers (`") and shown.endswith("You'll get a DM when they decide.")
    assert "Daily at 14:00 (Europe/Berlin)" in shown


def test_the_result_of_a_request_is_one_line_with_the_next_step_also_in_its_text() -> None:
    from dataclasses import replace

    from tests.slack.test_run_blocks import run, schedule

    started = blocks.build_run_outcome(scheduled_job=None, job_result=run(), now=NOW)
    assert started["text"] == "▶️ Run of Back up configs started (3f2c5a0e); you'll get a DM when it finishes."
    daily = schedule()
    scheduled = blocks.build_run_outcome(scheduled_job=daily, job_result=None, now=NOW)
    assert scheduled["text"] == ("🗓️ Scheduled (9b1d0000): Nightly backup, Daily at 09:00 (Europe/Berlin). You'll get "
                                 "a DM after each run.")
    pending = replace(daily, approval_state=ApprovalState.PENDING, approval_required=True)
    sent = blocks.build_run_outcome(scheduled_job=pending, job_result=None, now=NOW)
    assert sent["text"] == ("📨 Sent to approvers (9b1d0000): Back up configs · ams1 (“Nightly backup”), to run Daily "
                            "at 09:00 (Europe/Berlin). You'll get a DM when they decide.")
    assert "*" not in sent["text"] and "`" not in sent["text"]
    assert sent["blocks"][0]["text"]["text"].startswith(
        "📨 Sent to approvers (`9b1d0000`): *Back up configs · ams1 (“Nightly backup”)* (`maintenance.BackupConfigs`)")
