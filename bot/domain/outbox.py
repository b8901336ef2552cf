"""The outbox: notifications written in the same transaction as the change they report, delivered to Slack afterwards.

Owns the outbox's vocabulary (kinds, statuses), what services and the runner write (``OutboxMessage``) and what the
notifier reads back (``OutboxEntry``). How each kind is delivered is the notifier's business (``bot.notifier``).
Pure: must not import Slack, SQLAlchemy or storage.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from bot.domain.records import ObjectType


class OutboxKind(StrEnum):
    """What a notification tells, and so how it is delivered (payloads in ``bot.notifier``).

    APPROVAL_REQUEST: a request awaits approval: the message with the buttons, to a channel, a user (DM) or a user
        group (``@handle``, expanded into one entry per member).
    APPROVAL_UPDATE: a request was decided or cancelled: its approval messages are updated in place, without buttons.
    REQUEST_APPROVED: a DM telling the requester their request was approved.
    REQUEST_DENIED: a DM telling the requester their request was denied.
    REQUEST_CANCELLED: a DM telling the requester their scheduled job was cancelled.
    REQUEST_EXPIRED: a DM telling the requester nobody decided on their request in time: it expired.
    APPROVAL_REMINDER: a reminder to the approvers who have not acted on a pending request: in the thread of its
        approval message in a channel (mentioning them), or by DM to a user, or to a user group's members.
    APPROVAL_LAPSED: a DM telling the requester the approval of their request lapsed (its job's code changed) and
        the approvers were asked again.
    RUN_FINISHED: a DM telling who a job ran as how it went, then its log in the thread (a dry run of a request goes
        into the thread of its approval message instead).
    """

    APPROVAL_REQUEST = "approval_request"
    APPROVAL_UPDATE = "approval_update"
    REQUEST_APPROVED = "request_approved"
    REQUEST_DENIED = "request_denied"
    REQUEST_CANCELLED = "request_cancelled"
    REQUEST_EXPIRED = "request_expired"
    APPROVAL_REMINDER = "approval_reminder"
    APPROVAL_LAPSED = "approval_lapsed"
    RUN_FINISHED = "run_finished"


class OutboxStatus(StrEnum):
    """Where a notification is on its way to Slack.

    PENDING: waiting to be sent, from ``next_attempt_at`` on (new, released for a retry, or half sent).
    SENDING: claimed by a sender until ``next_attempt_at`` (its lease); tried again by anyone after that.
    SENT: delivered.
    FAILED: refused by Slack for good (unknown channel, invalid message); kept for the record.
    EXPANDED: replaced by one entry per recipient or thread (a user group's members, several approval threads).
    """

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    EXPANDED = "expanded"

    @property
    def is_undelivered(self) -> bool:
        return self in UNDELIVERED


UNDELIVERED = frozenset({OutboxStatus.PENDING, OutboxStatus.SENDING})
"""The statuses of a notification that still has to reach Slack; delivery keeps their order per channel."""


@dataclass(frozen=True, kw_only=True)
class OutboxMessage:
    """A notification to write to the outbox.

    Attributes:
        channel: where it goes: a channel ID, a user ID (a DM) or ``@handle`` (a user group).
        kind: what it tells.
        payload: the IDs the notifier renders it from at delivery time (JSON).
        ref_type: the kind of object it is about (a later notification finds the messages of an earlier one by it).
        ref_id: the ID of that object.
    """

    channel: str
    kind: OutboxKind
    payload: dict[str, Any]
    ref_type: ObjectType | None = None
    ref_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class OutboxEntry:
    """A notification in the outbox, with its delivery state.

    Attributes:
        id: its place in the outbox: delivery keeps the order of ``id`` within one ``channel``.
        attempts: how many times it was claimed for sending.
        next_attempt_at: when it may be tried (``pending``), or when its sender's claim runs out (``sending``).
        sent_at: when it was sent, given up or expanded.
        message_channel: the channel of the Slack message it created (a DM's differs from the user ID it went to).
        message_ts: the ``ts`` of that message, so a later notification can update it or reply in its thread.
        error: the last delivery error.
    """

    id: int
    created_at: datetime
    channel: str
    kind: OutboxKind
    payload: dict[str, Any]
    ref_type: ObjectType | None
    ref_id: str | None
    status: OutboxStatus
    attempts: int
    next_attempt_at: datetime | None
    sent_at: datetime | None
    message_channel: str | None
    message_ts: str | None
    error: str | None


FOLDABLE_KINDS = frozenset({OutboxKind.RUN_FINISHED})
"""Kinds that may be folded into a digest when a backlog builds up for one channel: a run's outcome told to who it
ran as. Approval requests (buttons), their updates (edits in place) and decisions (one DM each) are never folded."""
FOLD_FROM = 5
"""A channel has a backlog when at least this many foldable entries wait for it: they go out as one digest."""
DIGEST_MAX = 100
"""Most runs told in one digest message (a bigger backlog becomes several digests, a second apart)."""


def foldable(entry: OutboxEntry, *, announces_in_thread: bool) -> bool:
    """Whether ``entry`` may go into a digest: a run's outcome not yet half sent, to its own DM or channel.

    Args:
        entry: a waiting outbox entry.
        announces_in_thread: the run is a dry run of a request, told in its approval message's thread instead.
    """
    return (entry.kind in FOLDABLE_KINDS and entry.message_ts is None and "thread_ts" not in entry.payload
            and not announces_in_thread)


def fold_backlog(waiting: Sequence[tuple[OutboxEntry, bool]]) -> list[OutboxEntry]:
    """The entries to fold into the next digest for one channel; empty when they should go out one by one.

    Args:
        waiting: the channel's undelivered entries that are due, oldest first, each with whether it is foldable
            (:func:`foldable`).

    Returns:
        The oldest foldable entries, in order, up to the first one that is not foldable (order is kept per channel)
        and at most :data:`DIGEST_MAX`; empty unless at least :data:`FOLD_FROM` of them wait.
    """
    folded: list[OutboxEntry] = []
    for entry, can_fold in waiting:
        if not can_fold or len(folded) == DIGEST_MAX:
            break
        folded.append(entry)
    return folded if len(folded) >= FOLD_FROM else []
