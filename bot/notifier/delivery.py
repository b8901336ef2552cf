"""The notifier's delivery: the outbox to Slack, in order per channel, at most about one message per second per
channel, surviving Slack's outages and rate limits.

One delivery is: claim the entry (a short transaction with a lease), call Slack with no transaction open
(``bot.notifier.messages`` says what to send), then record the outcome and the message's ``ts`` in one step.
A 429 pauses every delivery for its ``Retry-After``; 5xx answers, timeouts and connection errors retry the entry
with exponential backoff, and the entries after it in its channel wait, so order is kept; an answer Slack will never
accept (unknown channel, invalid blocks) marks the entry ``failed`` and is logged. Finding a user group's members is
never given up on while Slack fails (``usergroups.list`` or ``usergroups.users.list`` answering an error): the entry
is retried, as for a 5xx; only a group Slack says does not exist is given up on. Nothing is lost. Something is sent
twice only if the process dies between Slack's answer and the commit that records it (the lease then expires and the
entry is tried again). A channel with a backlog of finished runs gets digests (``bot.notifier.digests``).

This is wiring: it may import anything.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient

from bot.config import Settings
from bot.domain.errors import DatabaseUnavailableError
from bot.domain.outbox import OutboxEntry, OutboxStatus
from bot.domain.records import JobResultRecord
from bot.loops import WakeableLoop, shown_error
from bot.metrics import Metrics
from bot.notifier.digests import folded_backlog
from bot.notifier.messages import Messages
from bot.notifier.slack_api import Done, Permanent, RateLimited, SlackApi, Transient
from bot.services import utcnow
from bot.slack import build_client
from bot.slack_directory import SlackDirectory
from handlers import blocks
from storage.db import Database
from storage.repositories import Repositories

log = logging.getLogger(__name__)

MIN_GAP = timedelta(seconds=1)
"""Least time between two messages to one channel (Slack allows about one per second per channel)."""
LEASE = timedelta(seconds=60)
"""How long a claimed entry is reserved for its sender; after that another sender may try it."""
MAX_BACKOFF = timedelta(minutes=5)


class Notifier:
    """Delivers the outbox to Slack: :meth:`deliver_due` once (tests pass ``now``), or a background thread.

    Args:
        db: the database holding the outbox.
        client: a Web API client without retry handlers: the notifier retries by itself, honouring ``Retry-After``.
        directory: resolves user-group handles; built on ``client`` by default.
        default_time_zone: the zone of a user whose Slack zone is unknown (for the default directory).
        clock: where "now" comes from in the background thread.
        poll_interval: seconds between passes when there is nothing to send.
    """

    def __init__(self, db: Database, client: WebClient, *, directory: SlackDirectory | None = None,
                 default_time_zone: str = "UTC", clock: Callable[[], datetime] = utcnow,
                 poll_interval: float = 0.5) -> None:
        self.db = db
        self.client = client
        self.directory = directory or SlackDirectory(client, default_time_zone=default_time_zone)
        self.clock = clock
        self.poll_interval = poll_interval
        self._slack = SlackApi(client)
        self._messages = Messages(db, self._slack, self.directory)
        self._last_sent: dict[str, datetime] = {}
        self._paused_until: datetime | None = None
        self._digests_refused: set[str] = set()
        self._loop = WakeableLoop("jobgate-notifier", self._pass, retry_after=poll_interval)
        self._pass_lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings, db: Database, *, metrics: Metrics | None = None) -> Notifier:
        """A notifier with its own client on ``JOBGATE_SLACK_API_URL`` (no retry handlers: it retries itself);
        ``metrics`` counts its failed calls."""
        return cls(db, build_client(settings, retries=False, metrics=metrics), default_time_zone=settings.time_zone)

    # ------------------------------------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Deliver in a background thread until :meth:`stop`; passes also run soon after :meth:`wake`."""
        if self._loop.running:
            return
        self._loop.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the background thread after the delivery in progress."""
        self._loop.stop(timeout)

    def wake(self) -> None:
        """Run a pass soon (something may have been written to the outbox)."""
        self._loop.wake()

    def pending(self) -> int:
        """How many entries wait to be delivered."""
        with self.db.read() as session:
            return Repositories(session).outbox.count_undelivered()

    def health(self, *, internals: bool = False) -> dict[str, Any]:
        """A JSON-able report for ``/healthz``: ``undelivered`` is None while the database cannot be read; the last
        error in full only with ``internals``."""
        try:
            undelivered: int | None = self.pending()
        except DatabaseUnavailableError:
            undelivered = None
        return {"running": self._loop.running, "undelivered": undelivered,
                "last_error": shown_error(self._loop.last_error, internals=internals)}

    def _pass(self) -> float:
        return 0.05 if self.deliver_due(self.clock()) else self.poll_interval

    # ------------------------------------------------------------------------------------------------- delivery

    def deliver_due(self, now: datetime) -> int:
        """One pass: try the oldest due entry of every channel once.

        Args:
            now: the current instant (aware UTC).

        Returns:
            How many entries made progress (sent, expanded into others, half-sent, or given up on).
        """
        with self._pass_lock:
            if self._paused_until is not None and now < self._paused_until:
                return 0
            with self.db.write() as session:
                heads = Repositories(session).outbox.heads_due(now=now, limit=200)
            progressed = 0
            for entry in heads:
                last = self._last_sent.get(entry.channel)
                if last is not None and now - last < MIN_GAP:
                    continue
                folded = [] if entry.channel in self._digests_refused else folded_backlog(self.db, entry, now)
                if folded:
                    outcome = self._deliver_digest(entry.channel, folded, now)
                    if outcome is None:
                        break  # rate limited: deliveries are paused
                    progressed += outcome
                    continue
                with self.db.write() as session:
                    if not Repositories(session).outbox.claim(entry.id, now=now, lease_until=now + LEASE):
                        continue
                try:
                    done = self._messages.deliver(entry, now)
                except RateLimited as limited:
                    wait = timedelta(seconds=max(limited.retry_after, 1.0))
                    self._paused_until = now + wait
                    self._release(entry, now + wait, str(limited))
                    log.warning("Slack rate limit: deliveries paused for %s s", wait.total_seconds())
                    break
                except Transient as failure:
                    backoff = min(timedelta(seconds=2 ** min(entry.attempts, 8)), MAX_BACKOFF)
                    self._release(entry, now + backoff, str(failure))
                    log.warning("Outbox entry %s (%s) not delivered (%s); retrying in %s s", entry.id, entry.kind,
                                failure, backoff.total_seconds())
                    continue
                except Permanent as failure:
                    with self.db.write() as session:
                        Repositories(session).outbox.mark_failed(entry.id, now=now, error=str(failure))
                    log.error("Outbox entry %s (%s to %s) given up: %s", entry.id, entry.kind, entry.channel, failure)
                    progressed += 1
                    continue
                self._record(entry, done, now)
                progressed += 1
            return progressed

    def _deliver_digest(self, channel: str, folded: list[tuple[OutboxEntry, JobResultRecord]],
                        now: datetime) -> int | None:
        """Send one digest for the folded entries; how many entries it delivered, or None when rate limited.

        The entries are claimed together; the digest's message and their being sent are recorded in one transaction,
        so each outcome is told once however many notifiers run."""
        with self.db.write() as session:
            claimed = Repositories(session).outbox.claim_many([e.id for e, _ in folded], now=now,
                                                              lease_until=now + LEASE)
        if not claimed:
            return 0
        results = [result for entry, result in folded if entry.id in set(claimed)]
        try:
            done = self._slack.post(channel, blocks.build_run_digest(results))
        except RateLimited as limited:
            wait = timedelta(seconds=max(limited.retry_after, 1.0))
            self._paused_until = now + wait
            self._release_many(claimed, now + wait, str(limited))
            log.warning("Slack rate limit: deliveries paused for %s s", wait.total_seconds())
            return None
        except Transient as failure:
            self._release_many(claimed, now + timedelta(seconds=2), str(failure))
            log.warning("Digest of %s runs to %s not delivered (%s); retrying", len(claimed), channel, failure)
            return 0
        except Permanent as failure:  # refused as a digest: the entries go out one by one, as without a backlog
            self._digests_refused.add(channel)
            self._release_many(claimed, now, str(failure))
            log.error("Digest of %s runs to %s refused (%s); sending them one by one", len(claimed), channel, failure)
            return 0
        with self.db.write() as session:
            Repositories(session).outbox.mark_sent_many(claimed, now=now, message_channel=done.message_channel,
                                                        message_ts=done.message_ts)
        self._last_sent[channel] = max(now, self.clock())  # the pace counts from Slack's answer: a digest is slow
        return len(claimed)

    def _release_many(self, entry_ids: list[int], at: datetime, error: str) -> None:
        with self.db.write() as session:
            Repositories(session).outbox.release_many(entry_ids, next_attempt_at=at, error=error)

    def _release(self, entry: OutboxEntry, at: datetime, error: str) -> None:
        with self.db.write() as session:
            Repositories(session).outbox.retry_later(entry.id, next_attempt_at=at, error=error)

    def _record(self, entry: OutboxEntry, done: Done, now: datetime) -> None:
        with self.db.write() as session:
            outbox = Repositories(session).outbox
            if done.state is OutboxStatus.EXPANDED:
                outbox.expand(entry.id, children=done.children, now=now)
                return
            self._last_sent[entry.channel] = now
            if done.state is OutboxStatus.PENDING:
                assert done.message_channel is not None and done.message_ts is not None
                outbox.mark_progress(entry.id, message_channel=done.message_channel, message_ts=done.message_ts,
                                     next_attempt_at=now + MIN_GAP)
            else:
                outbox.mark_sent(entry.id, now=now, message_channel=done.message_channel, message_ts=done.message_ts)
