"""OutboxRepository on real databases: notifications are delivered in order per channel, each claim is a
compare-and-set with a lease, and every outcome (sent, half sent, retried, failed, expanded) is recorded in one step."""

from __future__ import annotations

from datetime import timedelta

from bot.domain.outbox import OutboxEntry, OutboxKind, OutboxMessage, OutboxStatus
from bot.domain.records import ObjectType
from storage.db import Database, read_tables
from storage.models import OutboxRow
from tests.storage.conftest import NOW, read, write

LEASE_UNTIL = NOW + timedelta(seconds=60)


def message(channel: str, kind: OutboxKind = OutboxKind.APPROVAL_REQUEST, ref_id: str = "s1") -> OutboxMessage:
    return OutboxMessage(channel=channel, kind=kind, payload={"scheduled_job_id": ref_id},
                         ref_type=ObjectType.SCHEDULED_JOB, ref_id=ref_id)


def entries(database: Database) -> list[OutboxEntry]:
    with read(database) as repos:
        return repos.outbox.list_recent(limit=100)


def test_a_notification_is_written_pending_and_due_at_once(database: Database) -> None:
    with write(database) as repos:
        repos.outbox.add(message("C1"), now=NOW)
        repos.outbox.add(OutboxMessage(channel="UALICE", kind=OutboxKind.RUN_FINISHED, payload={"job_result_id": "r1"}),
                         now=NOW)
    first, second = entries(database)
    assert (first.channel, first.kind, first.payload, first.ref_type, first.ref_id) == (
        "C1", OutboxKind.APPROVAL_REQUEST, {"scheduled_job_id": "s1"}, ObjectType.SCHEDULED_JOB, "s1")
    assert (first.status, first.attempts, first.next_attempt_at, first.created_at) == (
        OutboxStatus.PENDING, 0, NOW, NOW)
    assert first.sent_at is first.message_ts is first.message_channel is first.error is None
    assert (second.ref_type, second.ref_id) == (None, None) and first.id < second.id
    with read(database) as repos:
        assert repos.outbox.count_undelivered() == 2
        assert repos.outbox.list_for(ObjectType.SCHEDULED_JOB, "s1") == [first]
        assert repos.outbox.list_for(ObjectType.JOB_RESULT, "s1") == []
        assert repos.outbox.list_recent(limit=1) == [second]


def test_heads_due_are_the_oldest_undelivered_entry_of_each_channel(database: Database) -> None:
    with write(database) as repos:
        for channel in ("C1", "C2", "C1", "C3"):
            repos.outbox.add(message(channel), now=NOW)
        repos.outbox.add(message("C4"), now=NOW + timedelta(minutes=1))  # not due yet
    c1, c2, c1_later, c3, c4 = entries(database)
    with read(database) as repos:
        assert [e.id for e in repos.outbox.heads_due(now=NOW, limit=10)] == [c1.id, c2.id, c3.id]
        assert [e.id for e in repos.outbox.heads_due(now=NOW, limit=2)] == [c1.id, c2.id]
        assert [e.id for e in repos.outbox.heads_due(now=NOW + timedelta(minutes=1), limit=10)] == [
            c1.id, c2.id, c3.id, c4.id]
    with write(database) as repos:
        assert repos.outbox.claim(c1.id, now=NOW, lease_until=LEASE_UNTIL)
        assert repos.outbox.mark_sent(c1.id, now=NOW, message_channel="C1", message_ts="1.0")
    with read(database) as repos:  # the next entry of C1 becomes its head once the first is delivered
        assert [e.id for e in repos.outbox.heads_due(now=NOW, limit=10)] == [c2.id, c1_later.id, c3.id]


def test_a_claim_is_a_lease_that_another_sender_takes_over_when_it_expires(database: Database) -> None:
    with write(database) as repos:
        repos.outbox.add(message("C1"), now=NOW)
        repos.outbox.add(message("C1"), now=NOW)
    first, second = entries(database)
    with write(database) as repos:
        assert repos.outbox.claim(first.id, now=NOW, lease_until=LEASE_UNTIL)
        assert not repos.outbox.claim(first.id, now=NOW, lease_until=LEASE_UNTIL)  # another sender has it
    with read(database) as repos:
        assert repos.outbox.heads_due(now=NOW, limit=10) == []  # held, and the channel waits behind it
        assert repos.outbox.count_undelivered() == 2
        [head] = repos.outbox.heads_due(now=LEASE_UNTIL, limit=10)
    assert (head.id, head.status, head.attempts) == (first.id, OutboxStatus.SENDING, 1)
    with write(database) as repos:
        assert repos.outbox.claim(first.id, now=LEASE_UNTIL, lease_until=LEASE_UNTIL + timedelta(seconds=60))
    assert entries(database)[0].attempts == 2 and second.status is OutboxStatus.PENDING


def test_sent_records_the_message_and_only_a_holder_can_record_it(database: Database) -> None:
    with write(database) as repos:
        repos.outbox.add(message("UALICE"), now=NOW)
    [entry] = entries(database)
    with write(database) as repos:
        assert not repos.outbox.mark_sent(entry.id, now=NOW, message_channel="D1", message_ts="1.0")  # not claimed
        repos.outbox.claim(entry.id, now=NOW, lease_until=LEASE_UNTIL)
        assert repos.outbox.mark_sent(entry.id, now=NOW, message_channel="D1", message_ts="1.0")
        assert not repos.outbox.mark_sent(entry.id, now=NOW, message_channel="D1", message_ts="2.0")
    [sent] = entries(database)
    assert (sent.status, sent.sent_at, sent.message_channel, sent.message_ts) == (OutboxStatus.SENT, NOW, "D1", "1.0")
    with read(database) as repos:
        assert repos.outbox.count_undelivered() == 0
        assert repos.outbox.delivered(ObjectType.SCHEDULED_JOB, "s1", kind=OutboxKind.APPROVAL_REQUEST) == [sent]
        assert repos.outbox.delivered(ObjectType.SCHEDULED_JOB, "s1", kind=OutboxKind.APPROVAL_UPDATE) == []


def test_delivered_lists_only_sent_entries_that_made_a_message(database: Database) -> None:
    with write(database) as repos:
        for channel in ("C1", "C2", "C3"):
            repos.outbox.add(message(channel), now=NOW)
    c1, c2, c3 = entries(database)
    with write(database) as repos:
        for entry in (c1, c2, c3):
            repos.outbox.claim(entry.id, now=NOW, lease_until=LEASE_UNTIL)
        repos.outbox.mark_sent(c1.id, now=NOW, message_channel="C1", message_ts="1.0")
        repos.outbox.mark_sent(c2.id, now=NOW, message_channel=None, message_ts=None)  # an update: no new message
    with read(database) as repos:
        assert [e.id for e in repos.outbox.delivered(ObjectType.SCHEDULED_JOB, "s1",
                                                     kind=OutboxKind.APPROVAL_REQUEST)] == [c1.id]


def test_a_half_sent_entry_keeps_its_message_and_waits_for_the_rest(database: Database) -> None:
    with write(database) as repos:
        repos.outbox.add(OutboxMessage(channel="UALICE", kind=OutboxKind.RUN_FINISHED, payload={"job_result_id": "r"},
                                       ref_type=ObjectType.JOB_RESULT, ref_id="r"), now=NOW)
    [entry] = entries(database)
    later = NOW + timedelta(seconds=1)
    with write(database) as repos:
        assert not repos.outbox.mark_progress(entry.id, message_channel="D1", message_ts="1.0", next_attempt_at=later)
        repos.outbox.claim(entry.id, now=NOW, lease_until=LEASE_UNTIL)
        assert repos.outbox.mark_progress(entry.id, message_channel="D1", message_ts="1.0", next_attempt_at=later)
    [half] = entries(database)
    assert (half.status, half.message_channel, half.message_ts, half.next_attempt_at) == (
        OutboxStatus.PENDING, "D1", "1.0", later)
    with read(database) as repos:
        assert repos.outbox.heads_due(now=NOW, limit=10) == []
        assert repos.outbox.heads_due(now=later, limit=10) == [half]


def test_a_failed_attempt_is_retried_later_and_a_refusal_is_given_up(database: Database) -> None:
    with write(database) as repos:
        repos.outbox.add(message("C1"), now=NOW)
        repos.outbox.add(message("C2"), now=NOW)
    retried, refused = entries(database)
    retry_at = NOW + timedelta(seconds=2)
    with write(database) as repos:
        for entry in (retried, refused):
            repos.outbox.claim(entry.id, now=NOW, lease_until=LEASE_UNTIL)
        repos.outbox.retry_later(retried.id, next_attempt_at=retry_at, error="HTTP 503")
        repos.outbox.mark_failed(refused.id, now=NOW, error="channel_not_found " + "x" * 3000)
    retried, refused = entries(database)
    assert (retried.status, retried.next_attempt_at, retried.error) == (OutboxStatus.PENDING, retry_at, "HTTP 503")
    assert (refused.status, refused.sent_at) == (OutboxStatus.FAILED, NOW)
    assert refused.error is not None and len(refused.error) == 2000 and refused.error.startswith("channel_not_found")
    with write(database) as repos:  # neither step applies to an entry that is no longer claimed
        repos.outbox.retry_later(refused.id, next_attempt_at=retry_at, error="again")
        repos.outbox.mark_failed(retried.id, now=NOW, error="again")
    assert [(e.status, e.error) for e in entries(database)] == [
        (OutboxStatus.PENDING, "HTTP 503"), (OutboxStatus.FAILED, refused.error)]


def test_an_entry_expands_into_one_per_recipient_of_the_same_kind_and_reference(database: Database) -> None:
    with write(database) as repos:
        repos.outbox.add(message("@net-approvers"), now=NOW)
    [group] = entries(database)
    children = [("UAPPROVER", {"scheduled_job_id": "s1"}), ("UAPPROVER2", {"scheduled_job_id": "s1"})]
    with write(database) as repos:
        assert not repos.outbox.expand(group.id, children=children, now=NOW)  # not claimed: nothing happens
        repos.outbox.claim(group.id, now=NOW, lease_until=LEASE_UNTIL)
        assert repos.outbox.expand(group.id, children=children, now=NOW)
        assert not repos.outbox.expand(group.id, children=children, now=NOW)
    parent, *members = entries(database)
    assert (parent.status, parent.sent_at) == (OutboxStatus.EXPANDED, NOW)
    assert [(m.channel, m.kind, m.ref_type, m.ref_id, m.status, m.payload) for m in members] == [
        (channel, OutboxKind.APPROVAL_REQUEST, ObjectType.SCHEDULED_JOB, "s1", OutboxStatus.PENDING, payload)
        for channel, payload in children]


def test_an_entry_of_a_kind_this_version_does_not_know_is_given_up_not_left_blocking(database: Database) -> None:
    with database.write() as session:  # as a newer jobgate could have written it
        session.add(OutboxRow(created_at=NOW, channel="C1", kind="from_the_future", payload={}, status="pending",
                              attempts=0, next_attempt_at=NOW))
    with write(database) as repos:
        repos.outbox.add(message("C1"), now=NOW)
        assert repos.outbox.heads_due(now=NOW, limit=10) == []  # the unknown one was first in its channel
    with read(database) as repos:
        [known] = repos.outbox.heads_due(now=NOW, limit=10)
        assert repos.outbox.count_undelivered() == 1
    assert known.kind is OutboxKind.APPROVAL_REQUEST
    [given_up] = read_tables(database.engine, "outbox")["outbox"][:1]
    assert (given_up["status"], given_up["sent_at"], given_up["error"]) == (
        "failed", NOW, "unknown outbox kind 'from_the_future'")
