"""The approval card in every state, as a person reads it: the status line first (emoji and word), who asks to run
what, when and why, what will happen once decided, and the ``text`` a phone notification shows alone."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.domain.approval_rules import Vote
from bot.domain.approvals import SELF_APPROVAL_MESSAGE, ApprovalState
from bot.domain.errors import OwnRequestError
from bot.domain.outbox import OutboxKind
from bot.domain.records import EndReason, JobRecord, JobResultRecord, Page, ScheduledJobRecord
from bot.domain.results import JobResultStatus
from bot.domain.schedules import IntervalType
from handlers import blocks, ids
from handlers.blocks.card import Approvers
from tests.slack.limits import check_message, check_view

NOW = datetime(2030, 1, 15, 12, 0, tzinfo=UTC)
DUE = NOW + timedelta(hours=2)

JOB = JobRecord(
    id="0c0c0c0c-0000-0000-0000-000000000001", slug="maintenance.RebootDevice", name="Reboot device",
    description="Reboot one device by name", module_name="maintenance", class_name="RebootDevice", source="",
    enabled=True, installed=True, approval_required=True, has_sensitive_variables=False, hidden=False,
    soft_time_limit=None, time_limit=None, version="abcdef0123456789",
    variables={
        "delay": {"kind": "integer", "label": "Delay (s)", "required": False, "default": 0},
        "device": {"kind": "string", "label": "Device", "required": True},
        "drain": {"kind": "boolean", "label": "Drain traffic first", "required": False},
        "mode": {"kind": "choice", "label": "Mode", "required": True, "choices": [["soft", "Soft reboot"],
                                                                                   ["hard", "Power cycle"]]},
    },
)


def pending(**changes: Any) -> ScheduledJobRecord:
    record = ScheduledJobRecord(
        id="0a0a0a0a-0000-0000-0000-000000000001", name="Reboot device – 2030-01-15 14:00", job=JOB,
        user_id="UALICE", interval=IntervalType.FUTURE, start_time=DUE, crontab=None, time_zone="Europe/Berlin",
        data={"delay": 0, "device": "core-sw-17", "drain": True, "mode": "hard"}, commit=True,
        approval_required=True, approval_state=ApprovalState.PENDING, decided_by_id=None, decided_at=None,
        decision_reason=None, enabled=True, paused=False, end_reason=None, ended_at=None, ended_by_id=None,
        next_run_at=None, last_run_at=None, total_run_count=0, created_at=NOW - timedelta(minutes=5),
        job_version=JOB.version, reason="Firmware fix for INC-42",
    )
    return replace(record, **changes)


def approved(**changes: Any) -> ScheduledJobRecord:
    values: dict[str, Any] = {"approval_state": ApprovalState.APPROVED, "decided_by_id": "UBOB",
                              "decided_at": NOW - timedelta(minutes=2), "next_run_at": DUE,
                              "approvals": (Vote("UBOB", NOW - timedelta(minutes=2)),),
                              "approved_job_version": JOB.version}
    return pending(**{**values, **changes})


def token(instant: datetime, fmt: str = "{date_short_pretty} at {time}") -> str:
    return f"<!date^{int(instant.timestamp())}^{fmt}|{instant:%Y-%m-%d %H:%M} UTC>"


def status(message: dict[str, Any]) -> str:
    return str(message["blocks"][0]["text"]["text"])


def block_texts(message: dict[str, Any]) -> str:
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "text" and isinstance(value, str):
                    found.append(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(message["blocks"])
    return "\n".join(found)


def buttons_of(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]


MRKDWN_MARKERS = re.compile(r"\*[^*\s][^*]*\*|(?<![<\w])_[^_\s][^_]*_|`")


def plain_words(text: str) -> bool:
    """No mrkdwn markers a notification would show raw (bold stars, italic underscores, backticks)."""
    return MRKDWN_MARKERS.search(text) is None


def test_pending_card_says_who_asks_to_run_what_when_and_why() -> None:
    message = blocks.build_approval_message(pending(), now=NOW)
    assert status(message) == "⏳ *Approval needed*"
    assert message["blocks"][1]["text"]["text"] == "*Reboot device · core-sw-17*\nReboot one device by name"
    fields = [f["text"] for f in message["blocks"][2]["fields"]]
    assert fields == [
        "*Requested by*\n<@UALICE>",
        f"*When*\n{token(DUE)} ({token(DUE, '{ago}')})",  # absolute and relative, each reader's own zone
        "*Why*\nFirmware fix for INC-42",
        "*Variables*\nDelay (s): 0\nDevice: core-sw-17\nDrain traffic first: Yes\nMode: Power cycle",
    ]
    assert "Europe/Berlin" not in block_texts(message)  # no second time in the requester's zone for a one-off
    facts = message["blocks"][3]["elements"][0]["text"]
    assert "ID `0a0a0a0a`" in facts and "code `abcdef0123`" in facts and "`maintenance.RebootDevice`" in facts
    assert [b["text"]["text"] for b in buttons_of(message)] == ["Approve", "Deny", "Dry run"]
    assert message["text"] == (f"⏳ Approval needed: <@UALICE> asks to run Reboot device · core-sw-17 {token(DUE)}. "
                               "Why: Firmware fix for INC-42.")
    assert plain_words(message["text"])
    assert check_message(message, "pending") == []


def test_a_request_to_run_now_and_one_without_a_reason() -> None:
    message = blocks.build_approval_message(pending(interval=IntervalType.IMMEDIATELY, start_time=NOW, reason=None),
                                            now=NOW)
    assert "*When*\nAs soon as it is approved" in block_texts(message)
    assert "*Why*" not in block_texts(message)
    assert message["text"] == "⏳ Approval needed: <@UALICE> asks to run Reboot device · core-sw-17 now."


def test_a_recurring_request_shows_its_rule_in_its_zone_and_its_next_runs() -> None:
    record = pending(interval=IntervalType.DAILY, start_time=datetime(2030, 1, 16, 8, 0, tzinfo=UTC),
                     name="Nightly reboot")
    message = blocks.build_approval_message(record, now=NOW)
    when = message["blocks"][2]["fields"][1]["text"]
    assert when.startswith("*When*\nDaily at 09:00 (Europe/Berlin)\nNext: ")
    assert token(datetime(2030, 1, 16, 8, 0, tzinfo=UTC)) in when and token(datetime(2030, 1, 17, 8, 0, tzinfo=UTC))
    assert "Schedule “Nightly reboot”" in message["blocks"][3]["elements"][0]["text"]
    assert "asks to run Reboot device · core-sw-17 Daily at 09:00 (Europe/Berlin)." in message["text"]


def test_partly_approved_card_counts_the_approvals_and_keeps_approve() -> None:
    record = pending(min_approvers=2, approvals=(Vote("UBOB", NOW, "diff checked"),),
                     expires_at=NOW + timedelta(days=1))
    message = blocks.build_approval_message(record, now=NOW)
    assert status(message) == "⏳ *Approval needed* · 1 of 2 approvals"
    assert "👍 Approved so far by <@UBOB> — 1 of 2 needed\n><@UBOB>: diff checked" in block_texts(message)
    assert f"expires {token(NOW + timedelta(days=1))} if still pending" in block_texts(message)
    assert [b["text"]["text"] for b in buttons_of(message)] == ["Approve", "Deny", "Dry run"]
    assert "1 of 2 approvals so far." in message["text"] and plain_words(message["text"])


def test_approved_card_says_who_when_and_what_will_happen() -> None:
    message = blocks.build_approval_message(approved(), now=NOW)
    ago = token(NOW - timedelta(minutes=2), "{ago}")
    assert status(message) == f"✅ *Approved* by <@UBOB> · {ago}\nRuns {token(DUE)}."
    assert buttons_of(message) == []
    assert "*Why*\nFirmware fix for INC-42" in block_texts(message)  # the facts stay
    assert message["text"] == f"✅ Approved by <@UBOB>: Reboot device · core-sw-17 for <@UALICE>. Runs {token(DUE)}."
    assert plain_words(message["text"])


def test_an_approved_request_to_run_now_says_it_runs_now_then_how_its_run_went() -> None:
    record = approved(interval=IntervalType.IMMEDIATELY, start_time=NOW, next_run_at=NOW)
    assert status(blocks.build_approval_message(record, now=NOW)).endswith("\nRuns now.")
    ran_at = NOW + timedelta(minutes=1)
    run = JobResultRecord(id="0b0b0b0b-0000-0000-0000-000000000001", job=JOB, name="Reboot device", user_id="UALICE",
                          approved_by_id="UBOB", status=JobResultStatus.COMPLETED, dry_run=False, created_at=NOW,
                          started_at=NOW, completed_at=ran_at, scheduled_job_id=record.id, scheduled_for=NOW,
                          error=None)
    finished = replace(record, enabled=False, end_reason=EndReason.FINISHED, next_run_at=None, last_run_at=NOW,
                       total_run_count=1)
    message = blocks.build_approval_message(finished, now=ran_at, last_run=run)
    assert status(message).endswith(f"\nRan {token(ran_at)} · ✅ Completed.")
    assert "None left" not in block_texts(message) and "Once, at once" not in block_texts(message)
    assert message["text"].endswith(f"for <@UALICE>. Ran {token(ran_at)} · ✅ Completed.")


def test_a_quorum_approval_names_everyone_who_approved() -> None:
    record = approved(min_approvers=2, approvals=(Vote("UBOB", NOW), Vote("UCAROL", NOW)))
    assert status(blocks.build_approval_message(record, now=NOW)).startswith(
        "✅ *Approved* by <@UBOB>, <@UCAROL> (2 of 2) · ")


def test_denied_card_says_who_and_why_and_that_it_will_not_run() -> None:
    record = pending(approval_state=ApprovalState.DENIED, decided_by_id="UBOB", decided_at=NOW,
                     decision_reason="Not during the <freeze>", enabled=False, end_reason=EndReason.DENIED)
    message = blocks.build_approval_message(record, now=NOW)
    assert status(message) == f"⛔ *Denied* by <@UBOB> · {token(NOW, '{ago}')}\nWon't run."
    assert ">Not during the &lt;freeze&gt;" in block_texts(message)
    assert buttons_of(message) == []
    assert message["text"] == ("⛔ Denied by <@UBOB>: Reboot device · core-sw-17 for <@UALICE>. Won't run. "
                               "Reason: Not during the &lt;freeze&gt;")


def test_a_request_withdrawn_by_its_requester_says_withdrawn() -> None:
    record = pending(approval_state=ApprovalState.DENIED, decided_by_id="UALICE", decided_at=NOW, enabled=False,
                     end_reason=EndReason.DENIED)
    message = blocks.build_approval_message(record, now=NOW)
    assert status(message).startswith("↩️ *Withdrawn* by <@UALICE>")
    assert message["text"].startswith("↩️ Withdrawn by <@UALICE>: Reboot device · core-sw-17")


def test_expired_card_says_nobody_decided_in_time() -> None:
    record = pending(approval_state=ApprovalState.EXPIRED, enabled=False, end_reason=EndReason.EXPIRED,
                     expires_at=NOW, min_approvers=2, approvals=(Vote("UBOB", NOW),))
    message = blocks.build_approval_message(record, now=NOW)
    assert status(message) == f"⏱️ *Expired* · {token(NOW, '{ago}')}: nobody decided in time\nWon't run."
    assert buttons_of(message) == [] and "expires" not in block_texts(message)
    assert message["text"] == ("⏱️ Expired, nobody decided in time: Reboot device · core-sw-17 for <@UALICE>. "
                               "Won't run.")


def test_cancelled_card_says_who_cancelled_it() -> None:
    record = pending(enabled=False, end_reason=EndReason.CANCELLED, ended_by_id="UALICE", ended_at=NOW)
    message = blocks.build_approval_message(record, now=NOW)
    assert status(message) == f"🚫 *Cancelled* by <@UALICE> · {token(NOW, '{ago}')}\nWon't run."
    assert buttons_of(message) == []
    assert message["text"] == "🚫 Cancelled by <@UALICE>: Reboot device · core-sw-17 for <@UALICE>. Won't run."


def test_past_due_card_warns_and_approve_asks_for_confirmation_in_plain_text() -> None:
    later = DUE + timedelta(minutes=10)
    message = blocks.build_approval_message(pending(), now=later)
    assert status(message) == "⌛ *Past due* · approval needed"
    assert f"⚠️ It was due {token(DUE)}: approving runs it at once, after a confirmation." in block_texts(message)
    approve = buttons_of(message)[0]
    assert approve["action_id"] == ids.APPROVE_CONFIRMED
    assert approve["confirm"]["text"] == {
        "type": "plain_text", "emoji": True,
        "text": "Reboot device · core-sw-17 was due 2030-01-15 14:00 UTC; that time has passed. "
                "Approving runs it at once."}
    assert message["text"] == (f"⌛ Past due, approval needed: <@UALICE> asks to run Reboot device · core-sw-17, due "
                               f"{token(DUE)}; approving runs it at once. Why: Firmware fix for INC-42.")
    assert check_message(message, "past due") == []


def test_buttons_carry_labels_for_screen_readers() -> None:
    labels = [b["accessibility_label"] for b in buttons_of(blocks.build_approval_message(pending(), now=NOW))]
    assert labels == ["Approve Reboot device 0a0a0a0a", "Deny Reboot device 0a0a0a0a", "Dry run Reboot device 0a0a0a0a"]
    named = blocks.build_approval_message(pending(), now=NOW, requester_name="Alice Example")
    assert [b["accessibility_label"] for b in buttons_of(named)] == [
        "Approve Reboot device for @Alice Example", "Deny Reboot device for @Alice Example",
        "Dry run Reboot device for @Alice Example"]
    long = pending(job=replace(JOB, name="Reboot " + "device " * 20))
    labels = [b["accessibility_label"] for b in buttons_of(blocks.build_approval_message(long, now=NOW,
                                                                                         requester_name="alice"))]
    assert all(len(label) <= 75 and label.endswith("… for @alice") for label in labels)  # the name is never cut off


def test_approvers_are_mentioned_while_pending_and_never_more_than_ten_people() -> None:
    people = tuple(f"UAPP{i:02d}" for i in range(12))
    approvers = Approvers(user_ids=people, group_ids=("S0NETAPP",), handles=("oncall",))
    message = blocks.build_approval_message(pending(), now=NOW, approvers=approvers)
    first = status(message)
    assert first.startswith("⏳ *Approval needed* from <!subteam^S0NETAPP>, @oncall, <@UAPP00>, ")
    assert first.endswith("<@UAPP09> and 2 more") and "<@UAPP10>" not in first
    assert message["text"].endswith("Approvers: " + first.removeprefix("⏳ *Approval needed* from ") + ".")
    decided = blocks.build_approval_message(approved(), now=NOW, approvers=approvers)
    assert "UAPP00" not in decided["text"] and "UAPP00" not in block_texts(decided)  # nobody to ping any more


def test_a_sensitive_job_shows_no_values() -> None:
    record = pending(data=None, job=replace(JOB, has_sensitive_variables=True))
    message = blocks.build_approval_message(record, now=NOW)
    assert message["blocks"][1]["text"]["text"].startswith("*Reboot device*\n")
    assert "*Variables*" not in block_texts(message) and "core-sw-17" not in str(message)


@pytest.mark.parametrize("record", [pending(), approved(), pending(min_approvers=2, approvals=(Vote("UBOB", NOW),))])
def test_every_card_stays_within_slacks_limits_in_the_queue_and_the_home_tab(record: ScheduledJobRecord) -> None:
    huge = replace(record, reason="r" * 500, data={"device": "d" * 3000, "mode": "hard", "delay": 10**30},
                   name="n" * 255)
    assert check_message(blocks.build_approval_message(huge, now=NOW), "card") == []
    many = [replace(huge, id=f"0a0a0a0a-0000-0000-0000-{i:012d}") for i in range(60)]
    queue = blocks.build_queue(Page(count=60, items=many), now=NOW)
    assert check_message(queue, "queue") == [] and len(queue["blocks"]) <= 50
    home = blocks.build_home(my_requests=Page(count=0, items=[]), to_approve=many, upcoming=Page(count=0, items=[]),
                             results=Page(count=0, items=[]), now=NOW, menus={})
    assert check_view(home, "home") == []


NAMED = "Reboot device · core-sw-17 (“Reboot device – 2030-01-15 14:00”)"


@pytest.mark.parametrize(("kind", "record", "expected"), [
    (OutboxKind.REQUEST_APPROVED, approved(),
     f"✅ Your request to run {NAMED} was approved by <@UBOB>. Runs {token(DUE)}."),
    (OutboxKind.REQUEST_APPROVED, approved(interval=IntervalType.IMMEDIATELY, start_time=NOW, next_run_at=NOW),
     "✅ Your request to run Reboot device · core-sw-17 was approved by <@UBOB>. Runs now."),
    (OutboxKind.REQUEST_DENIED, pending(approval_state=ApprovalState.DENIED, decided_by_id="UBOB", decided_at=NOW,
                                        decision_reason="freeze", enabled=False, end_reason=EndReason.DENIED),
     f"⛔ Your request to run {NAMED} was denied by <@UBOB>. It won't run. Reason: freeze"),
    (OutboxKind.REQUEST_EXPIRED, pending(approval_state=ApprovalState.EXPIRED, enabled=False, min_approvers=2,
                                         approvals=(Vote("UBOB", NOW),)),
     f"⏱️ Your request to run {NAMED} expired: nobody decided on it in time (1 of 2 approvals), so it won't run. "
     "Ask again if it is still needed."),
    (OutboxKind.REQUEST_CANCELLED, approved(enabled=False, end_reason=EndReason.CANCELLED, ended_by_id="UBOB"),
     f"🚫 Your scheduled job {NAMED} was cancelled by <@UBOB>. It won't run again."),
])
def test_the_requesters_direct_messages_read_alone(kind: OutboxKind, record: ScheduledJobRecord,
                                                   expected: str) -> None:
    message = blocks.build_request_decided(record, kind=kind, actor_id="UBOB", now=NOW)
    assert message["text"] == expected
    assert plain_words(message["text"]) and check_message(message, "decided") == []
    assert "None left" not in str(message) and "Once, at once" not in str(message)


def test_a_reminder_says_whose_request_for_what_and_why() -> None:
    record = pending(min_approvers=2, approvals=(Vote("UBOB", NOW),), expires_at=NOW + timedelta(days=1))
    message = blocks.build_approval_reminder(record, users=["UCAROL"], groups=["S0NETAPP"])
    assert message["text"] == (f"⏰ Reminder: <@UALICE>'s request to run Reboot device · core-sw-17 still waits for "
                               f"approval. 1 of 2 approvals so far. It expires {token(NOW + timedelta(days=1))}. "
                               "Why: Firmware fix for INC-42.")
    assert message["blocks"][0]["text"]["text"].startswith("⏰ <@UCAROL> <!subteam^S0NETAPP>: <@UALICE>'s request")
    assert plain_words(message["text"])


def test_refusing_your_own_approval_names_who_can_approve_instead() -> None:
    error = OwnRequestError(SELF_APPROVAL_MESSAGE, approver_ids=[f"UAPP{i:02d}" for i in range(11)],
                            approver_groups=["S0NETAPP", "oncall"])
    message = blocks.build_refusal(error)
    assert message["text"] == message["blocks"][0]["text"]["text"]
    assert message["text"].startswith("⚠️ You asked for this run, so someone else needs to approve it: approvers are "
                                      "<!subteam^S0NETAPP>, @oncall, <@UAPP00>, ")
    assert message["text"].endswith("<@UAPP09> and 1 more. You can still withdraw it with Deny.")
    assert SELF_APPROVAL_MESSAGE not in message["text"]  # the API keeps Nautobot's words; Slack speaks to you
