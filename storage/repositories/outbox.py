"""The outbox: notifications written with the change they report, then delivered by the notifier.

Delivery claims one entry at a time (a lease), calls Slack outside any transaction, then records the outcome; every
step is a conditional update, so two senders never both send an entry. Must not import Slack or handlers.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, Insert, Table, bindparam, func, insert, literal, select, union_all, update
from sqlalchemy.orm import Session

from bot.domain.audit import AuditEvent
from bot.domain.outbox import UNDELIVERED, OutboxEntry, OutboxKind, OutboxMessage, OutboxStatus
from bot.domain.records import ObjectType
from storage.models import AuditEventRow, OutboxRow
from storage.repositories._records import outbox_entry
from storage.repositories.audit import AuditRepository

log = logging.getLogger(__name__)

MAX_ERROR = 2000
"""Characters of a delivery error kept."""

_UNDELIVERED = sorted(status.value for status in UNDELIVERED)
_KINDS = frozenset(kind.value for kind in OutboxKind)
_TABLE = OutboxRow.__table__
assert isinstance(_TABLE, Table)
# Built once: on SQLite building a statement costs more than running it.
_INSERT = insert(_TABLE)
_CHANNELS_OF = (select(_TABLE.c.channel).distinct()
                .where(_TABLE.c.ref_type == bindparam("b_ref_type"), _TABLE.c.ref_id == bindparam("b_ref_id"),
                       _TABLE.c.kind == bindparam("b_kind")))
_AUDIT_TABLE = AuditEventRow.__table__
assert isinstance(_AUDIT_TABLE, Table)
_COLUMNS = ("created_at", "channel", "kind", "payload", "ref_type", "ref_id", "status", "attempts", "next_attempt_at")


@lru_cache(maxsize=16)
def _updates_then(others: int, *, audit: bool, postgresql: bool) -> Insert:
    """``INSERT ... SELECT``: one notification for each channel the notifications of a kind about an object went to
    (in the channels' order), then ``others`` given ones; with ``audit``, an audit event is written by the same
    statement (a data-modifying ``WITH``, PostgreSQL only). Built once per shape."""
    c = _TABLE.c
    now = bindparam("now", type_=c.created_at.type)
    status = bindparam("status", type_=c.status.type)
    channels = _CHANNELS_OF.subquery("channels")
    rows = [select(channels.c.channel.label("channel"), bindparam("u_kind", type_=c.kind.type).label("kind"),
                   bindparam("u_payload", type_=c.payload.type).label("payload"),
                   bindparam("b_ref_type", type_=c.ref_type.type).label("ref_type"),
                   bindparam("b_ref_id", type_=c.ref_id.type).label("ref_id"), literal(0).label("seq"))]
    rows += [select(*(bindparam(f"o{n}_{name}", type_=c[name].type).label(name)
                      for name in ("channel", "kind", "payload", "ref_type", "ref_id")), literal(n + 1).label("seq"))
             for n in range(others)]
    messages = union_all(*rows).subquery("messages") if others else rows[0].subquery("messages")
    source = (select(now, messages.c.channel, messages.c.kind, messages.c.payload, messages.c.ref_type,
                     messages.c.ref_id, status, literal(0), now)
              .order_by(messages.c.seq, messages.c.channel.collate("C") if postgresql else messages.c.channel))
    assert isinstance(_TABLE, Table) and isinstance(_AUDIT_TABLE, Table)  # Core tables: not the ORM's bulk insert
    statement = insert(_TABLE).from_select(list(_COLUMNS), source)
    if audit:
        a = _AUDIT_TABLE.c
        statement = statement.add_cte(insert(_AUDIT_TABLE).values(
            created_at=now, actor_id=bindparam("a_actor_id", type_=a.actor_id.type),
            action=bindparam("a_action", type_=a.action.type),
            object_type=bindparam("a_object_type", type_=a.object_type.type),
            object_id=bindparam("a_object_id", type_=a.object_id.type),
            detail=bindparam("a_detail", type_=a.detail.type),
        ).cte("audit_event"))
    return statement


class OutboxRepository:
    """The outbox table."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, message: OutboxMessage, *, now: datetime) -> None:
        """Write a notification, to be delivered from ``now`` on."""
        self.session.add(OutboxRow(
            created_at=now, channel=message.channel, kind=message.kind.value, payload=message.payload,
            ref_type=message.ref_type.value if message.ref_type is not None else None, ref_id=message.ref_id,
            status=OutboxStatus.PENDING.value, attempts=0, next_attempt_at=now,
        ))

    def add_many(self, messages: Sequence[OutboxMessage], *, now: datetime) -> None:
        """Write many notifications in one statement (a group commit's, a decision's), to be delivered from ``now``
        on, after those added before them in this transaction."""
        if not messages:
            return
        self.session.flush()  # entries added one by one before these get the lower ids: delivery keeps their order
        self.session.execute(_INSERT, [  # Core: one executemany, no per-row ORM bookkeeping
            {"created_at": now, "channel": m.channel, "kind": m.kind.value, "payload": m.payload,
             "ref_type": m.ref_type.value if m.ref_type is not None else None, "ref_id": m.ref_id,
             "status": OutboxStatus.PENDING.value, "attempts": 0, "next_attempt_at": now}
            for m in messages
        ])

    def add_updates(self, ref_type: ObjectType, ref_id: str, *, of_kind: OutboxKind, kind: OutboxKind,
                    payload: dict[str, Any], then: Sequence[OutboxMessage], now: datetime,
                    audit: AuditEvent | None = None) -> None:
        """Write a notification of ``kind`` with ``payload`` to every channel that notifications of ``of_kind`` about
        an object went (or go) to, in the channels' order, then the ``then`` ones, and the ``audit`` event if any:
        one statement on PostgreSQL, to be delivered from ``now`` on, after those added before them."""
        on_postgresql = self.session.get_bind().dialect.name == "postgresql"
        if audit is not None and not on_postgresql:
            AuditRepository(self.session).add(audit, now=now)
        self.session.flush()  # entries added one by one before these get the lower ids: delivery keeps their order
        values: dict[str, Any] = {
            "now": now, "status": OutboxStatus.PENDING.value, "u_kind": kind.value, "u_payload": payload,
            "b_ref_type": ref_type.value, "b_ref_id": ref_id, "b_kind": of_kind.value,
        }
        for n, message in enumerate(then):
            values.update({f"o{n}_channel": message.channel, f"o{n}_kind": message.kind.value,
                           f"o{n}_payload": message.payload, f"o{n}_ref_id": message.ref_id,
                           f"o{n}_ref_type": message.ref_type.value if message.ref_type is not None else None})
        with_audit = audit is not None and on_postgresql
        if audit is not None and with_audit:
            values.update({"a_actor_id": audit.actor_id, "a_action": audit.action.value,
                           "a_object_type": audit.object_type.value, "a_object_id": audit.object_id,
                           "a_detail": dict(audit.detail)})
        self.session.execute(_updates_then(len(then), audit=with_audit, postgresql=on_postgresql), values)

    def list_for(self, ref_type: ObjectType, ref_id: str) -> list[OutboxEntry]:
        """Every notification about one object, oldest first."""
        return [outbox_entry(row) for row in self.session.scalars(
            select(OutboxRow).where(OutboxRow.ref_type == ref_type.value, OutboxRow.ref_id == ref_id)
            .order_by(OutboxRow.id)
        )]

    def list_recent(self, *, limit: int) -> list[OutboxEntry]:
        """The latest ``limit`` notifications about anything, oldest of them first."""
        rows = list(self.session.scalars(select(OutboxRow).order_by(OutboxRow.id.desc()).limit(limit)))
        return [outbox_entry(row) for row in reversed(rows)]

    def delivered(self, ref_type: ObjectType, ref_id: str, *, kind: OutboxKind) -> list[OutboxEntry]:
        """Sent entries of ``kind`` about an object that created a Slack message, oldest first."""
        return [outbox_entry(row) for row in self.session.scalars(
            select(OutboxRow)
            .where(OutboxRow.ref_type == ref_type.value, OutboxRow.ref_id == ref_id, OutboxRow.kind == kind.value,
                   OutboxRow.status == OutboxStatus.SENT.value, OutboxRow.message_ts.is_not(None))
            .order_by(OutboxRow.id)
        )]

    def count_undelivered(self) -> int:
        """Entries still waiting to be delivered."""
        return self.session.scalar(
            select(func.count()).select_from(OutboxRow).where(OutboxRow.status.in_(_UNDELIVERED))
        ) or 0

    # --- delivery (the notifier): claim one entry at a time, call Slack outside any transaction, then mark it ---

    def heads_due(self, *, now: datetime, limit: int) -> list[OutboxEntry]:
        """The oldest undelivered entry of each channel, when it may be tried now (order is kept per channel).

        An entry is tried when it is ``pending`` and its ``next_attempt_at`` has come, or ``sending`` and its claim
        (lease) has expired because the process sending it stopped. An entry of a kind this version does not know
        (written by a newer one) can never be delivered here: it is given up (``failed``) rather than left to hold
        up its channel.
        """
        older = OutboxRow.__table__.alias("older")
        first_of_channel = ~select(older.c.id).where(
            older.c.channel == OutboxRow.channel, older.c.status.in_(_UNDELIVERED), older.c.id < OutboxRow.id
        ).exists()
        heads = []
        for row in self.session.scalars(
            select(OutboxRow)
            .where(OutboxRow.status.in_(_UNDELIVERED), OutboxRow.next_attempt_at <= now, first_of_channel)
            .order_by(OutboxRow.id)
            .limit(limit)
        ):
            if row.kind in _KINDS:
                heads.append(outbox_entry(row))
                continue
            log.error("Outbox entry %s (%s to %s) given up: unknown outbox kind", row.id, row.kind, row.channel)
            self._move(row.id, OutboxRow.status.in_(_UNDELIVERED), status=OutboxStatus.FAILED.value, sent_at=now,
                       error=f"unknown outbox kind {row.kind!r}")
        return heads

    def waiting(self, channel: str, *, now: datetime, limit: int) -> list[OutboxEntry]:
        """The undelivered entries of one channel, oldest first, up to the first that may not be tried yet."""
        entries = []
        for row in self.session.scalars(
            select(OutboxRow).where(OutboxRow.channel == channel, OutboxRow.status.in_(_UNDELIVERED))
            .order_by(OutboxRow.id).limit(limit)
        ):
            if (row.next_attempt_at is not None and row.next_attempt_at > now) or row.kind not in _KINDS:
                break
            entries.append(outbox_entry(row))
        return entries

    def claim_many(self, entry_ids: Sequence[int], *, now: datetime, lease_until: datetime) -> list[int]:
        """Take several entries for sending until ``lease_until`` in one step (compare-and-set per entry); returns
        the leading ones claimed, in the given order; any claimed after one another sender has are released."""
        if not entry_ids:
            return []
        claimed = set(self.session.scalars(
            update(OutboxRow)
            .where(OutboxRow.id.in_(entry_ids), OutboxRow.status.in_(_UNDELIVERED), OutboxRow.next_attempt_at <= now)
            .values(status=OutboxStatus.SENDING.value, next_attempt_at=lease_until, attempts=OutboxRow.attempts + 1)
            .returning(OutboxRow.id)
            .execution_options(synchronize_session=False)
        ))
        leading: list[int] = []
        for entry_id in entry_ids:
            if entry_id not in claimed:
                break
            leading.append(entry_id)
        for entry_id in claimed.difference(leading):
            self._move(entry_id, _sending(), status=OutboxStatus.PENDING.value, next_attempt_at=now,
                       attempts=OutboxRow.attempts - 1)
        return leading

    def mark_sent_many(self, entry_ids: Sequence[int], *, now: datetime, message_channel: str | None,
                       message_ts: str | None) -> int:
        """Record that one Slack message (a digest) delivered all these claimed entries, in one step; returns how
        many were still claimed."""
        if not entry_ids:
            return 0
        result = self.session.execute(
            update(OutboxRow).where(OutboxRow.id.in_(entry_ids), _sending())
            .values(status=OutboxStatus.SENT.value, sent_at=now, message_channel=message_channel,
                    message_ts=message_ts, error=None)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount  # type: ignore[attr-defined,no-any-return]

    def release_many(self, entry_ids: Sequence[int], *, next_attempt_at: datetime, error: str) -> None:
        """Release claimed entries to be tried again at ``next_attempt_at``."""
        if not entry_ids:
            return
        self.session.execute(
            update(OutboxRow).where(OutboxRow.id.in_(entry_ids), _sending())
            .values(status=OutboxStatus.PENDING.value, next_attempt_at=next_attempt_at, error=error[:MAX_ERROR])
            .execution_options(synchronize_session=False)
        )

    def claim(self, entry_id: int, *, now: datetime, lease_until: datetime) -> bool:
        """Take an entry for sending until ``lease_until`` (compare-and-set); False when another sender has it."""
        return self._move(
            entry_id, OutboxRow.status.in_(_UNDELIVERED), OutboxRow.next_attempt_at <= now,
            status=OutboxStatus.SENDING.value, next_attempt_at=lease_until, attempts=OutboxRow.attempts + 1,
        )

    def mark_sent(self, entry_id: int, *, now: datetime, message_channel: str | None, message_ts: str | None) -> bool:
        """Record delivery and the Slack message it created, in one step; False when the claim was lost."""
        return self._move(
            entry_id, _sending(),
            status=OutboxStatus.SENT.value, sent_at=now, message_channel=message_channel, message_ts=message_ts,
            error=None,
        )

    def mark_progress(self, entry_id: int, *, message_channel: str, message_ts: str, next_attempt_at: datetime) -> bool:
        """Record the first message of a two-message delivery (a result, then its log in the thread) and release
        the entry, so the next attempt sends only what is left. False when the claim was lost."""
        return self._move(
            entry_id, _sending(),
            status=OutboxStatus.PENDING.value, message_channel=message_channel, message_ts=message_ts,
            next_attempt_at=next_attempt_at, error=None,
        )

    def retry_later(self, entry_id: int, *, next_attempt_at: datetime, error: str) -> None:
        """Release a claimed entry to be tried again at ``next_attempt_at``."""
        self._move(entry_id, _sending(), status=OutboxStatus.PENDING.value, next_attempt_at=next_attempt_at,
                   error=error[:MAX_ERROR])

    def mark_failed(self, entry_id: int, *, now: datetime, error: str) -> None:
        """Give up on an entry Slack refuses for good (unknown channel, invalid message); it stays for the record."""
        self._move(entry_id, _sending(), status=OutboxStatus.FAILED.value, sent_at=now, error=error[:MAX_ERROR])

    def expand(self, entry_id: int, *, children: Sequence[tuple[str, dict[str, Any]]], now: datetime) -> bool:
        """Replace a claimed entry by one entry per ``(channel, payload)`` (a user group's members, several
        threads), of the same kind and reference, in one step. False when the claim was lost."""
        parent = self.session.execute(
            update(OutboxRow)
            .where(OutboxRow.id == entry_id, _sending())
            .values(status=OutboxStatus.EXPANDED.value, sent_at=now)
            .returning(OutboxRow.kind, OutboxRow.ref_type, OutboxRow.ref_id)
            .execution_options(synchronize_session=False)
        ).first()
        if parent is None:
            return False
        kind, ref_type, ref_id = OutboxKind(parent[0]), parent[1], parent[2]
        for channel, payload in children:
            self.add(OutboxMessage(channel=channel, kind=kind, payload=payload,
                                   ref_type=ObjectType(ref_type) if ref_type is not None else None, ref_id=ref_id),
                     now=now)
        return True

    def _move(self, entry_id: int, *where: ColumnElement[bool], **values: Any) -> bool:
        result = self.session.execute(
            update(OutboxRow).where(OutboxRow.id == entry_id, *where).values(**values)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1  # type: ignore[attr-defined,no-any-return]


def _sending() -> ColumnElement[bool]:
    """The condition of every step after a claim: the sender still holds the entry."""
    return OutboxRow.status == OutboxStatus.SENDING.value
