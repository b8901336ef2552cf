"""The notifier: delivers outbox entries to Slack, in order per channel, at most about one message per second per
channel, surviving Slack's outages and rate limits.

Each entry is rendered from the database at delivery time (so a request approved before its message went out is drawn
approved), with the pure builders of ``handlers/blocks.py``. One delivery is: claim the entry (a short transaction
with a lease), call Slack with no transaction open, then record the outcome and the message's ``ts`` in one step.
A 429 pauses every delivery for its ``Retry-After``; 5xx answers, timeouts and connection errors retry the entry
with exponential backoff, and the entries after it in its channel wait, so order is kept; an answer Slack will never
accept (unknown channel, invalid blocks) marks the entry ``failed`` and is logged. Finding a user group's members is
never given up on while Slack fails (``usergroups.list`` or ``usergroups.users.list`` answering an error): the entry
is retried, as for a 5xx; only a group Slack says does not exist is given up on. Nothing is lost. Something is sent
twice only if the process dies between Slack's answer and the commit that records it (the lease then expires and the
entry is tried again).

Kinds (``bot.domain.outbox.OutboxKind``; payloads written by the services and the executor):
- ``approval_request`` ``{scheduled_job_id}`` to a channel ID, a user ID (DM), or a user group (``@handle``, or the ID
  ``S…`` of a group pinned in the permissions file), expanded through ``usergroups.users.list`` into one entry per
  member (not the requester).
- ``approval_update`` ``{scheduled_job_id, actor_id}``: ``chat.update`` of the approval messages delivered to that
  channel (for ``@handle``, to its members): who decided what, when, why, and no buttons; or, after a dry run of
  the request finished, its status and first log lines (approval messages always show the latest finished one).
- ``request_approved`` / ``request_denied`` / ``request_cancelled`` ``{scheduled_job_id, actor_id}``: DM to the
  requester.
- ``request_expired`` ``{scheduled_job_id}``: DM to the requester that nobody decided in time.
- ``approval_reminder`` ``{scheduled_job_id, users, groups}`` to the approval channel: a reply in the thread of its
  approval message mentioning the approvers who have not acted; ``{scheduled_job_id}`` to a user (DM) or a user group
  (expanded into its members, without those who approved). Nothing is sent once the request was decided.
- ``approval_lapsed`` ``{scheduled_job_id}``: DM to the requester that the job's code changed since the approval
  (old → new version) and the approvers were asked again.
- ``run_finished`` ``{job_result_id}``: DM with status and duration, then the log in its thread, as a text file
  (``files_upload_v2``) when it does not fit in a message. A dry run of a scheduled job goes into the thread of its
  approval message(s) instead (its long log follows there as a file). When a backlog builds up for one channel
  (``bot.domain.outbox.fold_backlog``: 5 or more waiting), the waiting ones go out as one digest message of up to 100
  runs (no log threads); they are claimed together and marked sent in the transaction that records the digest.

This is wiring: it may import anything.
"""

from __future__ import annotations

import http.client
import logging
import threading
import urllib.error
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.config import Settings
from bot.domain.approvals import ApprovalState
from bot.domain.errors import DatabaseUnavailableError
from bot.domain.outbox import (
    DIGEST_MAX,
    FOLD_FROM,
    OutboxEntry,
    OutboxKind,
    OutboxStatus,
    fold_backlog,
    foldable,
)
from bot.domain.permissions import group_approvers, is_usergroup_id
from bot.domain.records import JobResultRecord, ObjectType, ScheduledJobRecord
from bot.loops import WakeableLoop, shown_error
from bot.metrics import Metrics
from bot.services import utcnow
from bot.slack import SlackDirectory, build_client
from handlers import blocks
from storage.db import Database
from storage.repositories import Repositories

log = logging.getLogger(__name__)

MIN_GAP = timedelta(seconds=1)
"""Least time between two messages to one channel (Slack allows about one per second per channel)."""
LEASE = timedelta(seconds=60)
"""How long a claimed entry is reserved for its sender; after that another sender may try it."""
MAX_BACKOFF = timedelta(minutes=5)
DECISION_KINDS = frozenset({OutboxKind.REQUEST_APPROVED, OutboxKind.REQUEST_DENIED, OutboxKind.REQUEST_CANCELLED,
                            OutboxKind.REQUEST_EXPIRED, OutboxKind.APPROVAL_LAPSED})
"""Kinds that tell a requester what became of their request: one direct message each."""
TRANSIENT_ERRORS = frozenset({"internal_error", "fatal_error", "service_unavailable", "request_timeout",
                              "ratelimited", "rate_limited", "team_added_to_org"})

GONE_GROUP_ERRORS = frozenset({"no_such_subteam", "subteam_not_found"})
"""Answers of ``usergroups.users.list`` that say the group does not exist: the one case finding approvers gives up."""


class _RateLimited(Exception):
    def __init__(self, retry_after: float) -> None:
        super().__init__(f"rate limited for {retry_after:g} s")
        self.retry_after = retry_after


class _Transient(Exception):
    """Worth retrying later: a server error, a timeout, a dropped connection."""


class _Permanent(Exception):
    """Slack will never accept this delivery as it is."""


@dataclass(frozen=True)
class _Done:
    """What a delivery achieved."""

    state: OutboxStatus  # the entry's next status: sent, expanded, or pending again when half sent
    message_channel: str | None = None
    message_ts: str | None = None
    children: tuple[tuple[str, dict[str, Any]], ...] = ()


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
                folded = self._backlog(entry, now)
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
                    done = self._deliver(entry, now)
                except _RateLimited as limited:
                    wait = timedelta(seconds=max(limited.retry_after, 1.0))
                    self._paused_until = now + wait
                    self._release(entry, now + wait, str(limited))
                    log.warning("Slack rate limit: deliveries paused for %s s", wait.total_seconds())
                    break
                except _Transient as failure:
                    backoff = min(timedelta(seconds=2 ** min(entry.attempts, 8)), MAX_BACKOFF)
                    self._release(entry, now + backoff, str(failure))
                    log.warning("Outbox entry %s (%s) not delivered (%s); retrying in %s s", entry.id, entry.kind,
                                failure, backoff.total_seconds())
                    continue
                except _Permanent as failure:
                    with self.db.write() as session:
                        Repositories(session).outbox.mark_failed(entry.id, now=now, error=str(failure))
                    log.error("Outbox entry %s (%s to %s) given up: %s", entry.id, entry.kind, entry.channel, failure)
                    progressed += 1
                    continue
                self._record(entry, done, now)
                progressed += 1
            return progressed

    # ---------------------------------------------------------------------------------------------- digests

    def _backlog(self, head: OutboxEntry, now: datetime) -> list[tuple[OutboxEntry, JobResultRecord]]:
        """The entries waiting for the head's channel to fold into one digest now (``bot.domain.outbox``), with
        their runs; empty when the channel has no backlog."""
        if head.channel in self._digests_refused or not foldable(head, announces_in_thread=False):
            return []
        with self.db.read() as session:
            repos = Repositories(session)
            waiting = repos.outbox.waiting(head.channel, now=now, limit=DIGEST_MAX + 1)
            if len(waiting) < FOLD_FROM:
                return []
            runs: dict[int, JobResultRecord] = {}
            marked: list[tuple[OutboxEntry, bool]] = []
            for entry in waiting:
                result = None
                if foldable(entry, announces_in_thread=False):
                    result = repos.job_results.get(str(entry.payload.get("job_result_id", "")), with_log=False)
                in_thread = result is not None and result.dry_run and result.scheduled_job_id is not None
                can_fold = result is not None and foldable(entry, announces_in_thread=in_thread)
                if result is not None and can_fold:
                    runs[entry.id] = result
                marked.append((entry, can_fold))
        return [(entry, runs[entry.id]) for entry in fold_backlog(marked)]

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
            done = self._post(channel, blocks.build_run_digest(results))
        except _RateLimited as limited:
            wait = timedelta(seconds=max(limited.retry_after, 1.0))
            self._paused_until = now + wait
            self._release_many(claimed, now + wait, str(limited))
            log.warning("Slack rate limit: deliveries paused for %s s", wait.total_seconds())
            return None
        except _Transient as failure:
            self._release_many(claimed, now + timedelta(seconds=2), str(failure))
            log.warning("Digest of %s runs to %s not delivered (%s); retrying", len(claimed), channel, failure)
            return 0
        except _Permanent as failure:  # refused as a digest: the entries go out one by one, as without a backlog
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

    def _record(self, entry: OutboxEntry, done: _Done, now: datetime) -> None:
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

    def _deliver(self, entry: OutboxEntry, now: datetime) -> _Done:
        payload = dict(entry.payload)
        if entry.kind is OutboxKind.APPROVAL_REQUEST:
            return self._approval_request(entry, payload, now)
        if entry.kind is OutboxKind.APPROVAL_UPDATE:
            return self._approval_update(entry, payload, now)
        if entry.kind in DECISION_KINDS:
            record = self._scheduled_job(payload)
            message = blocks.build_request_decided(record, kind=entry.kind, actor_id=payload.get("actor_id"), now=now)
            return self._post(entry.channel, message)
        if entry.kind is OutboxKind.RUN_FINISHED:
            return self._run_finished(entry, payload)
        if entry.kind is OutboxKind.APPROVAL_REMINDER:
            return self._approval_reminder(entry, payload)
        raise _Permanent(f"unknown outbox kind {entry.kind!r}")

    # --------------------------------------------------------------------------------------------------- kinds

    def _approval_request(self, entry: OutboxEntry, payload: dict[str, Any], now: datetime) -> _Done:
        record = self._scheduled_job(payload)
        if _is_group(entry.channel):
            children = tuple((member, payload) for member in self._group_approvers(entry.channel, record))
            return _Done(OutboxStatus.EXPANDED, children=children)
        return self._post(entry.channel, blocks.build_approval_message(record, now=now,
                                                                       dry_run=self._latest_dry_run(record.id)))

    def _latest_dry_run(self, scheduled_job_id: str) -> JobResultRecord | None:
        with self.db.read() as session:
            return Repositories(session).job_results.latest_dry_run(scheduled_job_id,
                                                                    log_lines=blocks.DRY_RUN_LOG_LINES)

    def _group_approvers(self, channel: str, record: ScheduledJobRecord) -> tuple[str, ...]:
        """The members of the user group an outbox channel names (not the requester), as Slack has them now."""
        group_id: str | None = channel  # pinned: that group, whatever its handle is now
        if channel.startswith("@"):
            group_id = self._resolving(lambda: self.directory.usergroup_id(channel, strict=True))
        if group_id is None:  # Slack answered, and has no such group
            raise _Permanent(f"no Slack user group {channel}")
        listed = self._resolving(lambda: self.client.usergroups_users_list(usergroup=group_id))
        members = listed.get("users") or []
        return group_approvers([str(m) for m in members], requester_id=record.user_id)

    def _approval_reminder(self, entry: OutboxEntry, payload: dict[str, Any]) -> _Done:
        """Remind the approvers who have not acted, unless the request was decided meanwhile: in the thread of the
        approval message in a channel, or by DM (a user group's members each get one)."""
        record = self._scheduled_job(payload)
        if record.approval_state is not ApprovalState.PENDING or not record.enabled:
            return _Done(OutboxStatus.SENT)
        acted = {vote.user_id for vote in record.approvals}
        if _is_group(entry.channel):
            members = self._group_approvers(entry.channel, record)
            return _Done(OutboxStatus.EXPANDED,
                         children=tuple((m, {"scheduled_job_id": record.id}) for m in members if m not in acted))
        if "users" not in payload:  # a DM to one approver
            if entry.channel in acted:
                return _Done(OutboxStatus.SENT)
            return self._post(entry.channel, blocks.build_approval_reminder(record, users=[entry.channel], groups=[]))
        users = [str(u) for u in payload.get("users", []) if u not in acted]
        groups = [str(g) for g in payload.get("groups", [])]
        message = blocks.build_approval_reminder(record, users=users, groups=groups)
        threads = [(c, ts) for channel, c, ts in self._approval_messages(record.id) if channel == entry.channel]
        if threads:
            return self._post(threads[0][0], message, thread_ts=threads[0][1])
        return self._post(entry.channel, message)

    def _approval_update(self, entry: OutboxEntry, payload: dict[str, Any], now: datetime) -> _Done:
        record = self._scheduled_job(payload)
        message = blocks.build_approval_message(record, now=now, dry_run=self._latest_dry_run(record.id))
        group = _is_group(entry.channel)
        covered: set[str] = set()
        if group:  # members' messages not covered by an update of their own
            with self.db.read() as session:
                covered = {e.channel for e in Repositories(session).outbox.list_for(ObjectType.SCHEDULED_JOB, record.id)
                           if e.kind is OutboxKind.APPROVAL_UPDATE}
        for channel, message_channel, message_ts in self._approval_messages(record.id):
            member = group and not channel.startswith(("C", "G")) and not _is_group(channel) and channel not in covered
            if channel == entry.channel or member:
                self._update(message_channel, message_ts, message)
        return _Done(OutboxStatus.SENT)

    def _update(self, channel: str, ts: str, message: blocks.Message) -> None:
        self._call(lambda: self.client.chat_update(channel=channel, ts=ts, text=message["text"],
                                                   blocks=message["blocks"]))

    def _approval_messages(self, scheduled_job_id: str) -> list[tuple[str, str, str]]:
        """``(outbox channel, message channel, message ts)`` of every approval message posted for a request."""
        with self.db.read() as session:
            delivered = Repositories(session).outbox.delivered(ObjectType.SCHEDULED_JOB, scheduled_job_id,
                                                               kind=OutboxKind.APPROVAL_REQUEST)
        return [(e.channel, str(e.message_channel), str(e.message_ts)) for e in delivered]

    def _run_finished(self, entry: OutboxEntry, payload: dict[str, Any]) -> _Done:
        with self.db.read() as session:
            result = Repositories(session).job_results.get(str(payload.get("job_result_id", "")))
        threads: list[tuple[str, str, str]] = []
        if result is not None and result.dry_run and result.scheduled_job_id and "thread_ts" not in payload:
            threads = self._approval_messages(result.scheduled_job_id)
        if result is None:
            raise _Permanent(f"job result {payload.get('job_result_id')} not found")
        thread: tuple[str, str] | None = None
        if "thread_ts" in payload:  # one of several approval threads
            thread = str(payload["thread_channel"]), str(payload["thread_ts"])
        elif len(threads) == 1:
            thread = threads[0][1], threads[0][2]
        elif threads:
            children = tuple(
                (thread_channel, {**payload, "thread_channel": thread_channel, "thread_ts": thread_ts})
                for _, thread_channel, thread_ts in threads
            )
            return _Done(OutboxStatus.EXPANDED, children=children)
        if thread is not None:  # a dry run's reply, then (next attempt) its whole log as a file when it is long
            thread_channel, thread_ts = thread
            if entry.message_ts is None:
                done = self._post(thread_channel, blocks.build_dry_run_reply(result), thread_ts=thread_ts)
                if blocks.log_file(result, limit=blocks.DRY_RUN_LOG_TEXT) is None:
                    return done
                return _Done(OutboxStatus.PENDING, done.message_channel, done.message_ts)
            self._share_log(thread_channel, thread_ts, result, limit=blocks.DRY_RUN_LOG_TEXT)
            return _Done(OutboxStatus.SENT, entry.message_channel, entry.message_ts)
        if entry.message_ts is None:  # first the result, then (next attempt) its log in the thread
            done = self._post(entry.channel, blocks.build_run_finished(result))
            return _Done(OutboxStatus.PENDING, done.message_channel, done.message_ts)
        if blocks.log_file(result) is None:
            self._post(str(entry.message_channel), blocks.build_run_log(result), thread_ts=entry.message_ts)
            return _Done(OutboxStatus.SENT, entry.message_channel, entry.message_ts)
        self._share_log(str(entry.message_channel), entry.message_ts, result)
        return _Done(OutboxStatus.SENT, entry.message_channel, entry.message_ts)

    def _share_log(self, channel: str, thread_ts: str, result: JobResultRecord, *,
                   limit: int = blocks.LOG_TEXT) -> None:
        """A long log as a file in a thread; when Slack refuses the file for good (e.g. ``missing_scope``: an app
        not reinstalled since ``files:write`` was added), the start of the log saying why, instead."""
        try:
            self._upload_log(channel, thread_ts, result, limit=limit)
        except _Permanent as refused:
            log.error("Log of job result %s not shared as a file (%s); posting its start instead", result.id, refused)
            self._post(channel, blocks.build_run_log(result, file_refused=str(refused)), thread_ts=thread_ts)

    def _upload_log(self, channel: str, thread_ts: str, result: JobResultRecord, *,
                    limit: int = blocks.LOG_TEXT) -> None:
        """Share a run's whole log as a text file in a thread (``files_upload_v2``: ask for an upload URL, upload,
        complete the upload into the thread)."""
        file = blocks.log_file(result, limit=limit)
        assert file is not None
        filename, content = file
        self._call(lambda: self.client.files_upload_v2(
            channel=channel, thread_ts=thread_ts, filename=filename, title=filename, content=content,
            initial_comment=blocks.log_file_comment(result), snippet_type="text"))

    # ----------------------------------------------------------------------------------------------- Slack I/O

    def _scheduled_job(self, payload: dict[str, Any]) -> ScheduledJobRecord:
        with self.db.read() as session:
            record = Repositories(session).scheduled_jobs.get(str(payload.get("scheduled_job_id", "")))
        if record is None:
            raise _Permanent(f"scheduled job {payload.get('scheduled_job_id')} not found")
        return record

    def _post(self, channel: str, message: blocks.Message, *, thread_ts: str | None = None) -> _Done:
        response = self._call(lambda: self.client.chat_postMessage(channel=channel, text=message["text"],
                                                                   blocks=message["blocks"], thread_ts=thread_ts,
                                                                   unfurl_links=False))
        return _Done(OutboxStatus.SENT, str(response.get("channel") or channel), str(response.get("ts")))

    @classmethod
    def _resolving(cls, call: Callable[[], Any]) -> Any:
        """A Web API call that finds approvers: any failure of Slack's is retried later, never given up on (an approval
        request must not be lost to an outage); a 429 still pauses deliveries for its ``Retry-After``."""
        try:
            return cls._call(call)
        except _Permanent as failure:
            if str(failure) in GONE_GROUP_ERRORS:  # Slack answered: there is no such group (any more)
                raise
            raise _Transient(f"resolving approvers: {failure}") from None

    @staticmethod
    def _call(call: Callable[[], Any]) -> Any:
        """Make one Web API call, sorting failures into rate limit, transient and permanent."""
        try:
            return call()
        except SlackApiError as error:
            status = error.response.status_code
            code = str(error.response.get("error") or "") if isinstance(error.response.data, dict) else ""
            if status == 429 or code in ("ratelimited", "rate_limited"):
                raise _RateLimited(_retry_after(error.response.headers)) from None
            if status >= 500 or code in TRANSIENT_ERRORS:
                raise _Transient(f"HTTP {status} {code}".strip()) from None
            raise _Permanent(code or f"HTTP {status}") from None
        except (SlackClientError, urllib.error.URLError, http.client.HTTPException, TimeoutError, OSError) as error:
            raise _Transient(type(error).__name__) from None


def _is_group(channel: str) -> bool:
    """Whether an outbox channel is a user group: ``@handle``, or a pinned group's ID (``S…``)."""
    return channel.startswith("@") or is_usergroup_id(channel)


def _retry_after(headers: Any) -> float:
    for key, value in dict(headers or {}).items():
        if str(key).lower() == "retry-after":
            raw = value[0] if isinstance(value, list) else value
            try:
                return float(raw)
            except (TypeError, ValueError):
                return 1.0
    return 1.0
