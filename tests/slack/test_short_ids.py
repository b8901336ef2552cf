"""Short IDs in ``/jobs``: a unique prefix of at least 6 characters names a scheduled job; an ambiguous one is answered
with the candidates; messages show the first 8 characters. On SQLite and PostgreSQL (the lookup is a range on the
primary key)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from bot.domain.approvals import ApprovalState
from tests.conftest import ADMIN
from tests.fake_slack import text_of
from tests.slack.conftest import Stack

FIRST = "abcdef01-1111-4111-8111-111111111111"
SECOND = "abcdef02-2222-4222-8222-222222222222"
NINES = "9f9f9900-3333-4333-8333-333333333333"
EFFS = "fedcbf00-4444-4444-8444-444444444444"
NEIGHBOUR = "9f9f9a00-5555-4555-8555-555555555555"  # just past the range of "9f9f99"


def reply(stack: Stack, command: str, *, user_id: str) -> str:
    before = len(stack.fake.calls_to("response_url"))
    ack = stack.slack.command(command, user_id=user_id)
    assert ack.status == 200
    if ack.json and ack.json.get("text"):  # refused while parsing: answered in the ack
        return str(ack.json["text"])
    return text_of(stack.fake.wait_for("response_url", before + 1)[-1])


def request(stack: Stack, name: str, new_id: str | None = None) -> str:
    """ALICE asks for the approval job under ``name``; the request is given ``new_id`` when one is given."""
    before = len(stack.fake.calls_to("response_url"))
    stack.slack.command(f'run testjobs.ApprovalJob device=core-2 --at "2030-01-16 09:00" --name "{name}"',
                        user_id="UALICE")
    stack.fake.wait_for("response_url", before + 1)
    [record] = [r for r in stack.services.listings.list_scheduled_jobs(ADMIN).items if r.name == name]
    if new_id is None:
        return record.id
    with stack.core.db.write() as session:  # test data: IDs chosen to share a prefix (random ones never do)
        session.execute(text("UPDATE scheduled_jobs SET id = :new WHERE id = :old"), {"new": new_id, "old": record.id})
        session.execute(text("UPDATE outbox SET ref_id = :new WHERE ref_id = :old"), {"new": new_id, "old": record.id})
    return new_id


def state(stack: Stack, scheduled_job_id: str) -> ApprovalState:
    return stack.services.listings.get_scheduled_job(ADMIN, scheduled_job_id).approval_state


def test_a_prefix_of_six_characters_names_a_scheduled_job_and_answers_show_the_short_form(stack: Stack) -> None:
    scheduled_job_id = request(stack, "Core refresh")
    answer = reply(stack, f"approve {scheduled_job_id[:6]}", user_id="UAPPROVER")
    assert "you approved *Core refresh*" in answer
    assert f"ID `{scheduled_job_id[:8]}`" in answer and scheduled_job_id not in answer
    assert state(stack, scheduled_job_id) is ApprovalState.APPROVED
    reply(stack, 'run testjobs.TestPass --every daily --start "2030-01-16 09:00" --name Nightly', user_id="UALICE")
    [nightly] = [r.id for r in stack.services.listings.list_scheduled_jobs(ADMIN).items if r.name == "Nightly"]
    assert "you paused" in reply(stack, f"pause {nightly[:8].upper()}", user_id="UALICE")
    assert "you resumed" in reply(stack, f"resume `{nightly[:13]}`", user_id="UALICE")
    assert "you cancelled" in reply(stack, f"cancel {nightly}", user_id="UALICE")  # the full ID still works
    assert not stack.services.listings.get_scheduled_job(ADMIN, nightly).enabled


def test_an_ambiguous_prefix_is_answered_with_the_candidates_and_decides_nothing(stack: Stack) -> None:
    request(stack, "Core refresh", FIRST)
    request(stack, "Edge refresh", SECOND)
    answer = reply(stack, "approve abcdef", user_id="UAPPROVER")
    assert ("⚠️ `abcdef` starts the IDs of 2 scheduled jobs: `abcdef01` (Core refresh), `abcdef02` "
                      "(Edge refresh). Type more characters of the one you mean.") in answer
    assert state(stack, FIRST) is ApprovalState.PENDING and state(stack, SECOND) is ApprovalState.PENDING
    assert "you approved *Edge refresh*" in reply(stack, "approve abcdef02", user_id="UAPPROVER")
    assert "you denied *Core refresh*" in reply(stack, "deny ABCDEF01-11 not today", user_id="UAPPROVER")
    assert state(stack, FIRST) is ApprovalState.DENIED and state(stack, SECOND) is ApprovalState.APPROVED
    # Someone who may see neither is not told they exist.
    assert "⚠️ No scheduled job has an ID starting with `abcdef`." in reply(stack, "cancel abcdef", user_id="UNOBODY")


@pytest.mark.parametrize(("typed", "expected"), [("9f9f99", NINES), ("9f9f9a", NEIGHBOUR), ("fedcbf", EFFS)])
def test_prefixes_at_the_edges_of_the_range_find_exactly_their_scheduled_job(stack: Stack, typed: str,
                                                                               expected: str) -> None:
    request(stack, "Nines", NINES)
    request(stack, "Effs", EFFS)
    request(stack, "Neighbour", NEIGHBOUR)
    answer = reply(stack, f"dry-run {typed}", user_id="UAPPROVER")
    assert "Dry run" in answer and f"`{expected[:8]}`" not in answer  # the answer names the result, not the request
    assert [r.scheduled_job_id for r in stack.services.listings.list_job_results(ADMIN).items] == [expected]


@pytest.mark.parametrize(("typed", "expected"), [
    ("abc12", "⚠️ `abc12` is too short to name a scheduled job: type at least 6 characters of its ID (e.g. `3f2c5a`); "
              "`/jobs scheduled` and `/jobs queue` show them."),
    ("nightly", "⚠️ `nightly` is not a scheduled job ID. IDs look like `3f2c5a0e`; `/jobs scheduled` and "
                "`/jobs queue` show them."),
    ("ffffff", "⚠️ No scheduled job has an ID starting with `ffffff`."),
])
def test_a_prefix_that_is_too_short_malformed_or_unknown_gets_a_specific_answer(stack: Stack, typed: str,
                                                                                  expected: str) -> None:
    request(stack, "Core refresh", FIRST)
    assert expected in reply(stack, f"cancel {typed}", user_id="UALICE")
    assert state(stack, FIRST) is ApprovalState.PENDING
