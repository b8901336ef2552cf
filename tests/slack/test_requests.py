"""Requesting jobs through ``/jobs run`` and the run modal, and every kind of bad input."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.domain.approvals import ApprovalState
from bot.domain.schedules import IntervalType
from handlers import ids
from tests.conftest import ADMIN
from tests.fake_slack import text_of
from tests.slack.conftest import APPROVAL_CHANNEL, Stack


def nothing_stored(stack: Stack) -> bool:
    return (stack.services.listings.list_scheduled_jobs(ADMIN).count == 0
            and stack.services.listings.list_job_results(ADMIN).count == 0)


def answer(stack: Stack, count: int = 1) -> str:
    call = stack.fake.wait_for("response_url", count)[-1]
    assert call.params["response_type"] == "ephemeral"
    return text_of(call)


# ------------------------------------------------------------------------------------------------ one-line run


def test_run_now_starts_a_run(stack: Stack) -> None:
    ack = stack.slack.command('run testjobs.APITestJob var1="two words" var2=7 var3=yes var4=role-b',
                              user_id="UALICE")
    assert ack.status == 200 and ack.body == ""
    assert "started" in answer(stack)
    results = stack.services.listings.list_job_results(ADMIN).items
    assert len(results) == 1 and not results[0].dry_run and results[0].user_id == "UALICE"


def test_dry_run_flag_runs_with_commit_off_and_needs_no_approval(stack: Stack) -> None:
    stack.slack.command("run testjobs.ApprovalJob --dry-run", user_id="UALICE")
    assert "Dry run" in answer(stack)
    results = stack.services.listings.list_job_results(ADMIN).items
    assert len(results) == 1 and results[0].dry_run
    assert stack.services.listings.list_approval_queue(ADMIN).count == 0


def test_run_later_reads_the_time_in_the_users_slack_zone(stack: Stack) -> None:
    stack.slack.command('run testjobs.TestPass --at "2030-01-16 09:00"', user_id="UALICE")  # Europe/Berlin
    assert "Scheduled" in answer(stack)
    record = stack.services.listings.list_scheduled_jobs(ADMIN).items[0]
    assert record.interval is IntervalType.FUTURE and record.time_zone == "Europe/Berlin"
    assert record.start_time == datetime(2030, 1, 16, 8, 0, tzinfo=UTC)
    assert record.name == "testjobs.TestPass – 2030-01-16 09:00"
    stack.slack.command('run testjobs.TestPass --at 2030-01-16T09:00:00Z --name "UTC one"', user_id="UBOB")
    answer(stack, 2)
    names = {r.name: r for r in stack.services.listings.list_scheduled_jobs(ADMIN).items}
    assert names["UTC one"].start_time == datetime(2030, 1, 16, 9, 0, tzinfo=UTC)
    assert names["UTC one"].time_zone == "America/New_York"


@pytest.mark.parametrize(("text", "interval", "expected_next"), [
    ('--every daily --start "2030-01-16 09:00" --name Daily', IntervalType.DAILY, datetime(2030, 1, 16, 8, 0,
                                                                                            tzinfo=UTC)),
    ('--every weekly --start "2030-01-16 09:00"', IntervalType.WEEKLY, datetime(2030, 1, 16, 8, 0, tzinfo=UTC)),
    ('--every hourly --start "2030-01-15 14:30"', IntervalType.HOURLY, datetime(2030, 1, 15, 13, 30, tzinfo=UTC)),
    ('--cron "*/15 * * * *" --name "Every quarter"', IntervalType.CUSTOM, datetime(2030, 1, 15, 12, 15, tzinfo=UTC)),
    ("--every daily", IntervalType.DAILY, datetime(2030, 1, 15, 12, 1, tzinfo=UTC)),  # starts at the next minute
])
def test_recurring_requests(stack: Stack, text: str, interval: IntervalType, expected_next: datetime) -> None:
    stack.slack.command(f"run testjobs.TestPass {text}", user_id="UALICE")
    assert "Scheduled" in answer(stack)
    record = stack.services.listings.list_scheduled_jobs(ADMIN).items[0]
    assert record.interval is interval and record.next_run_at == expected_next
    assert record.approval_state is ApprovalState.NOT_REQUIRED


def test_an_approval_job_becomes_a_request_posted_to_the_approval_channel(stack: Stack) -> None:
    stack.slack.command('run testjobs.ApprovalJob --cron "0 9 * * 1-5"', user_id="UALICE")
    assert "waits for approval" in answer(stack)
    stack.deliver()
    message = stack.posted(APPROVAL_CHANNEL)[0]
    assert "At 09:00, Monday through Friday (Europe/Berlin)" in text_of(message)


# ----------------------------------------------------------------------------------------------------- modal


def test_run_modal_follows_the_schedule_type_and_keeps_what_was_typed(stack: Stack) -> None:
    assert stack.slack.command("run testjobs.APITestJob", user_id="UALICE").status == 200
    stack.fake.wait_for("views.open")
    modal = stack.opened_view()
    assert modal["callback_id"] == ids.RUN_MODAL and modal["submit"]["text"] == "Run"
    inputs = {b["block_id"]: b for b in modal["blocks"] if b["type"] == "input"}
    assert set(inputs) == {"var:var1", "var:var2", "var:var3", "var:var4", ids.SCHEDULE_TYPE_BLOCK}
    assert inputs["var:var2"]["element"]["type"] == "number_input"
    assert inputs["var:var3"]["element"]["type"] == "checkboxes"
    assert inputs["var:var4"]["element"]["type"] == "static_select"
    labels = [o["text"]["text"] for o in inputs[ids.SCHEDULE_TYPE_BLOCK]["element"]["options"]]
    assert labels == ["Immediately", "Once in the future", "Hourly", "Daily", "Weekly", "Recurring custom"]

    typed = {"var:var1": "edge-7", "var:var2": "3"}
    stack.slack.select_in_view(modal, block_id=ids.SCHEDULE_TYPE_BLOCK, action_id=ids.SCHEDULE_TYPE,
                               value="custom", user_id="UALICE", values=typed, view_id="V0RUN")
    update = stack.fake.wait_for("views.update")[0]
    assert update.params["view_id"] == "V0RUN" and update.params["hash"] == "hash-V0RUN"
    custom = update.params["view"]
    custom_inputs = {b["block_id"]: b for b in custom["blocks"] if b["type"] == "input"}
    revealed = {ids.SCHEDULE_NAME_BLOCK, ids.START_DATE_BLOCK, ids.START_TIME_BLOCK, ids.CRONTAB_BLOCK}
    assert revealed <= set(custom_inputs)
    for block_id in ("var:var1", "var:var2", "var:var3", "var:var4"):  # same ids: Slack keeps what was typed
        assert custom_inputs[block_id]["element"]["action_id"] == inputs[block_id]["element"]["action_id"]
    assert custom["submit"]["text"] == "Schedule"

    stack.slack.select_in_view(custom, block_id=ids.SCHEDULE_TYPE_BLOCK, action_id=ids.SCHEDULE_TYPE,
                               value="future", user_id="UALICE", values=typed, view_id="V0RUN")
    future = stack.fake.wait_for("views.update", 2)[-1].params["view"]
    future_ids = {b["block_id"] for b in future["blocks"] if b["type"] == "input"}
    assert ids.CRONTAB_BLOCK not in future_ids and ids.START_DATE_BLOCK in future_ids

    ack = stack.slack.submit(future, {**typed, "var:var4": "role-a", ids.SCHEDULE_TYPE_BLOCK: "future",
                                      ids.START_DATE_BLOCK: "2030-01-16", ids.START_TIME_BLOCK: "09:00"},
                             user_id="UALICE")
    assert ack.json is not None and ack.json["response_action"] == "update", ack.json
    record = stack.services.listings.list_scheduled_jobs(ADMIN).items[0]
    assert record.start_time == datetime(2030, 1, 16, 8, 0, tzinfo=UTC)  # 09:00 in Berlin
    assert record.data == {"var1": "edge-7", "var2": 3, "var3": False, "var4": "role-a"}
    assert record.name == "API test job – 2030-01-16 09:00"


def test_run_modal_errors_come_back_on_their_fields_with_the_api_messages(stack: Stack) -> None:
    stack.slack.command("run testjobs.APITestJob", user_id="UALICE")
    stack.fake.wait_for("views.open")
    modal = stack.opened_view()
    stack.slack.select_in_view(modal, block_id=ids.SCHEDULE_TYPE_BLOCK, action_id=ids.SCHEDULE_TYPE,
                               value="custom", user_id="UALICE")
    custom = stack.fake.wait_for("views.update")[0].params["view"]
    ack = stack.slack.submit(custom, {"var:var2": "many", ids.SCHEDULE_TYPE_BLOCK: "custom",
                                      ids.CRONTAB_BLOCK: "61 * * * *"}, user_id="UALICE")
    assert ack.json is not None and ack.json["response_action"] == "errors"
    errors = ack.json["errors"]
    assert errors[ids.CRONTAB_BLOCK].startswith("Invalid crontab '61 * * * *': minute must be 0-59")
    assert nothing_stored(stack)
    ack = stack.slack.submit(custom, {"var:var1": "x", "var:var2": "many", "var:var4": "role-a",
                                      ids.SCHEDULE_TYPE_BLOCK: "custom", ids.CRONTAB_BLOCK: "0 9 * * *",
                                      ids.START_DATE_BLOCK: "2020-01-01", ids.START_TIME_BLOCK: "09:00"},
                             user_id="UALICE")
    assert ack.json is not None
    errors = ack.json["errors"]
    assert errors[ids.START_DATE_BLOCK] == "Please enter a start time at least 15 seconds from now."
    ack = stack.slack.submit(modal, {"var:var1": "x", "var:var2": "many", "var:var4": "role-a"}, user_id="UALICE")
    assert ack.json == {"response_action": "errors", "errors": {"var:var2": "Enter a whole number."}}
    assert nothing_stored(stack)


def test_run_modal_refuses_a_crontab_left_in_the_form_of_another_type_and_a_custom_one_without(stack: Stack) -> None:
    stack.slack.command("run testjobs.TestPass", user_id="UALICE")
    stack.fake.wait_for("views.open")
    stack.slack.select_in_view(stack.opened_view(), block_id=ids.SCHEDULE_TYPE_BLOCK, action_id=ids.SCHEDULE_TYPE,
                               value="custom", user_id="UALICE")
    custom = stack.fake.wait_for("views.update")[0].params["view"]
    # Daily chosen and submitted before Slack redrew the form: the crontab typed for custom is still in it.
    ack = stack.slack.submit(custom, {ids.SCHEDULE_TYPE_BLOCK: "daily", ids.CRONTAB_BLOCK: "0 9 * * *",
                                      ids.START_DATE_BLOCK: "2030-01-16", ids.START_TIME_BLOCK: "09:00"},
                             user_id="UALICE")
    assert ack.json == {"response_action": "errors", "errors": {ids.CRONTAB_BLOCK: (
        'A crontab only applies to custom schedules; this schedule is "daily". '
        'Leave the crontab out, or make the schedule "custom".')}}
    ack = stack.slack.submit(custom, {ids.SCHEDULE_TYPE_BLOCK: "custom"}, user_id="UALICE")
    assert ack.json is not None and ack.json["response_action"] == "errors"
    assert ack.json["errors"][ids.CRONTAB_BLOCK].startswith("A custom schedule needs a crontab: 5 fields")
    assert nothing_stored(stack)


def test_run_modal_of_an_approval_job_says_request(stack: Stack) -> None:
    stack.slack.command("run testjobs.ApprovalJob", user_id="UALICE")
    stack.fake.wait_for("views.open")
    modal = stack.opened_view()
    assert modal["submit"]["text"] == "Request"
    inputs = {b["block_id"]: b for b in modal["blocks"] if b["type"] == "input"}
    assert inputs["var:device"]["element"]["initial_value"] == "core-1"  # the default, filled in
    ack = stack.slack.submit(modal, user_id="UALICE")
    assert ack.json is not None and ack.json["response_action"] == "update"
    assert stack.services.listings.list_approval_queue(ADMIN).items[0].data == {"device": "core-1"}


def test_run_modal_of_a_sensitive_job_offers_only_immediately(stack: Stack) -> None:
    stack.slack.command("run testjobs.ExampleJob", user_id="UALICE")
    stack.fake.wait_for("views.open")
    modal = stack.opened_view()
    select = next(b for b in modal["blocks"] if b.get("block_id") == ids.SCHEDULE_TYPE_BLOCK)
    assert [o["value"] for o in select["element"]["options"]] == ["immediately"]
    assert "Unable to schedule job: Job may have sensitive input variables" in str(modal["blocks"])


def test_run_modal_of_a_disabled_job_says_why_and_offers_nothing(stack: Stack) -> None:
    stack.services.management.set_job_enabled("testjobs.TestPass", False)
    stack.slack.command("run testjobs.TestPass", user_id="UALICE")
    stack.fake.wait_for("views.open")
    modal = stack.opened_view()
    assert "submit" not in modal and "This job is not enabled to be run." in str(modal["blocks"])


# ------------------------------------------------------------------------------------------------- bad input

IN_ACK = [
    ("frobnicate", "`frobnicate` is not a `/jobs` command"),
    ('run testjobs.TestPass --name "unclosed', "Unbalanced quotes"),
    ("run testjobs.TestPass --at tomorrow", "'tomorrow' is not a date and time"),
    ("run testjobs.TestPass --every fortnightly --start 2030-01-16T09:00", "`--every` takes hourly, daily or weekly"),
    ("run testjobs.TestPass --at 2030-01-16T09:00 --every daily", "Choose one of"),
    ("run testjobs.TestPass --bogus", "Unknown option `--bogus`"),
    ("run testjobs.TestPass justaword", "Expected `variable=value`"),
    ("approve not-an-id", "`not-an-id` is not a scheduled job ID"),
    ("cancel", "needs the scheduled job's ID"),
    ("run " + "x" * 5000, "the most `/jobs` accepts is 3,000"),
]


@pytest.mark.parametrize(("text", "expected"), IN_ACK)
def test_bad_input_is_answered_in_the_ack(stack: Stack, text: str, expected: str) -> None:
    ack = stack.slack.command(text, user_id="UALICE")
    assert ack.status == 200 and ack.elapsed < 3
    assert ack.json is not None and ack.json["response_type"] == "ephemeral"
    assert expected in ack.json["text"]
    assert nothing_stored(stack)


AFTER_ACK = [
    ("run nope.Nope x=1", "Job 'nope.Nope' not found."),
    ("run testjobs.APITestJob var1=a var2=abc var4=role-a", "Enter a whole number."),
    ("run testjobs.APITestJob var1=a var2=1 var4=role-z", "Select a valid choice. role-z is not one of"),
    ("run testjobs.APITestJob var1=a var2=1 var4=role-a colour=red", "Job data contained an unknown property"),
    ('run testjobs.TestPass --cron "*/0 * * * *"', "minute step must be a whole number of 1 or more"),
    ('run testjobs.TestPass --cron "@daily"', "macros such as @daily are not supported"),
    ('run testjobs.TestPass --every daily --cron "0 9 * * *"',
     'A crontab only applies to custom schedules; this schedule is "daily". Leave the crontab out'),
    ("run testjobs.TestPass --at 2030-01-16T09:00 --cron '* * * * *'",
     'A crontab only applies to custom schedules; this schedule is "future"'),
    ("run testjobs.TestPass --now --cron '* * * * *'",
     'A crontab only applies to custom schedules; this schedule is "immediately"'),
    ('run testjobs.TestPass --cron ""', "A custom schedule needs a crontab: 5 fields"),
    ('run testjobs.TestPass --at "2020-01-01 09:00"', "Please enter a start time at least 15 seconds from now"),
    ('run testjobs.TestPass --at "2030-03-31 02:30"', "does not exist in Europe/Berlin"),
    ("run testjobs.ExampleJob password=x --at 2030-01-16T09:00Z", "sensitive input variables"),
    ("run testjobs.TestPass var=" + "y" * 2900, "Job data contained an unknown property"),
    ("deny 00000000-0000-0000-0000-000000000000 " + "z" * 2500, "Ensure this value has at most 2000 characters."),
    ("deny 00000000-0000-0000-0000-000000000000 because", "Scheduled job not found."),
]


@pytest.mark.parametrize(("text", "expected"), AFTER_ACK)
def test_refused_requests_get_a_specific_private_answer_and_store_nothing(stack: Stack, text: str,
                                                                          expected: str) -> None:
    ack = stack.slack.command(text, user_id="UALICE")
    assert ack.status == 200 and ack.elapsed < 3
    assert expected in answer(stack)
    assert nothing_stored(stack)


def test_no_permission_to_run(stack: Stack) -> None:
    stack.slack.command("run testjobs.TestPass --now", user_id="UNOBODY")
    assert "This user does not have permission to run jobs." in answer(stack)
    assert nothing_stored(stack)
