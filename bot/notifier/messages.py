"""What the notifier sends for each kind of outbox entry, rendered from the database at delivery time (so a request
approved before its message went out is drawn approved) with the pure builders of ``handlers/blocks``:

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
- ``run_finished`` ``{job_result_id}``: DM naming the run, with its status and duration (a failure's reason
  first), then the log in its thread, as a text file (``files_upload_v2``) when it does not fit in a message. The
  first run of a scheduled job starts a thread per recipient (``run_threads``); its later runs that complete are
  replies there, and a run that failed, errored or was missed is a new message. A dry run of a scheduled job goes
  into the thread of its approval message(s) instead (its long log follows there as a file).

This is wiring: it may import anything.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime
from typing import Any

from bot.domain import run_notices
from bot.domain.approvals import ApprovalState
from bot.domain.outbox import OutboxEntry, OutboxKind, OutboxStatus
from bot.domain.permissions import group_approvers
from bot.domain.records import JobResultRecord, ObjectType, ScheduledJobRecord
from bot.notifier.slack_api import Done, Permanent, SlackApi, is_group
from bot.slack_directory import SlackDirectory
from handlers import blocks
from handlers.blocks.card import Approvers, is_decided
from storage.db import Database
from storage.repositories import Repositories

log = logging.getLogger(__name__)

DECISION_KINDS = frozenset({OutboxKind.REQUEST_APPROVED, OutboxKind.REQUEST_DENIED, OutboxKind.REQUEST_CANCELLED,
                            OutboxKind.REQUEST_EXPIRED, OutboxKind.APPROVAL_LAPSED})
"""Kinds that tell a requester what became of their request: one direct message each."""


class Messages:
    """Sends what one outbox entry announces.

    Args:
        db: the database the entries' subjects are read from.
        slack: the Web API calls.
        directory: resolves user-group handles.
    """

    def __init__(self, db: Database, slack: SlackApi, directory: SlackDirectory) -> None:
        self.db = db
        self.slack = slack
        self.directory = directory

    def deliver(self, entry: OutboxEntry, now: datetime) -> Done:
        """Send (or expand, or half-send) one claimed entry."""
        payload = dict(entry.payload)
        if entry.kind is OutboxKind.APPROVAL_REQUEST:
            return self._approval_request(entry, payload, now)
        if entry.kind is OutboxKind.APPROVAL_UPDATE:
            return self._approval_update(entry, payload, now)
        if entry.kind in DECISION_KINDS:
            record = self._scheduled_job(payload)
            message = blocks.build_request_decided(record, kind=entry.kind, actor_id=payload.get("actor_id"), now=now)
            return self.slack.post(entry.channel, message)
        if entry.kind is OutboxKind.RUN_FINISHED:
            return self._run_finished(entry, payload, now)
        if entry.kind is OutboxKind.APPROVAL_REMINDER:
            return self._approval_reminder(entry, payload)
        raise Permanent(f"unknown outbox kind {entry.kind!r}")

    # --------------------------------------------------------------------------------------------------- kinds

    def _approval_request(self, entry: OutboxEntry, payload: dict[str, Any], now: datetime) -> Done:
        record = self._scheduled_job(payload)
        if is_group(entry.channel):
            children = tuple((member, payload) for member in self._group_approvers(entry.channel, record))
            return Done(OutboxStatus.EXPANDED, children=children)
        return self.slack.post(entry.channel, blocks.build_approval_message(record, now=now,
                                                                            dry_run=self._latest_dry_run(record.id),
                                                                            approvers=self._approvers(payload),
                                                                            requester_name=self._name(record)))

    def _name(self, record: ScheduledJobRecord) -> str | None:
        """The requester's Slack name, while the request may still be decided (its buttons' labels name them)."""
        if record.user_id is None or is_decided(record):
            return None
        return self.directory.display_name(record.user_id)

    def _approvers(self, payload: dict[str, Any]) -> Approvers | None:
        """Who an approval message in a channel mentions: user-group handles become mentions when Slack knows them
        (from the groups last listed), else they are named."""
        found = Approvers.from_payload(payload.get("approvers"))
        if found is None or not found.handles:
            return found
        group_ids = {h: self.directory.usergroup_id(h) for h in found.handles}
        return replace(found, group_ids=found.group_ids + tuple(g for g in group_ids.values() if g),
                       handles=tuple(h for h, g in group_ids.items() if not g))

    def _latest_run(self, record: ScheduledJobRecord) -> JobResultRecord | None:
        if record.approval_state is not ApprovalState.APPROVED or not record.total_run_count:
            return None
        with self.db.read() as session:
            return Repositories(session).job_results.latest_run(record.id)

    def _latest_dry_run(self, scheduled_job_id: str) -> JobResultRecord | None:
        with self.db.read() as session:
            return Repositories(session).job_results.latest_dry_run(scheduled_job_id,
                                                                    log_lines=blocks.DRY_RUN_LOG_LINES)

    def _group_approvers(self, channel: str, record: ScheduledJobRecord) -> tuple[str, ...]:
        """The members of the user group an outbox channel names (not the requester), as Slack has them now."""
        group_id: str | None = channel  # pinned: that group, whatever its handle is now
        if channel.startswith("@"):
            group_id = self.slack.resolving(lambda: self.directory.usergroup_id(channel, strict=True))
        if group_id is None:  # Slack answered, and has no such group
            raise Permanent(f"no Slack user group {channel}")
        listed = self.slack.resolving(lambda: self.slack.client.usergroups_users_list(usergroup=group_id))
        members = listed.get("users") or []
        return group_approvers([str(m) for m in members], requester_id=record.user_id)

    def _approval_reminder(self, entry: OutboxEntry, payload: dict[str, Any]) -> Done:
        """Remind the approvers who have not acted, unless the request was decided meanwhile: in the thread of the
        approval message in a channel, or by DM (a user group's members each get one)."""
        record = self._scheduled_job(payload)
        if record.approval_state is not ApprovalState.PENDING or not record.enabled:
            return Done(OutboxStatus.SENT)
        acted = {vote.user_id for vote in record.approvals}
        if is_group(entry.channel):
            members = self._group_approvers(entry.channel, record)
            return Done(OutboxStatus.EXPANDED,
                        children=tuple((m, {"scheduled_job_id": record.id}) for m in members if m not in acted))
        if "users" not in payload:  # a DM to one approver
            if entry.channel in acted:
                return Done(OutboxStatus.SENT)
            return self.slack.post(entry.channel,
                                   blocks.build_approval_reminder(record, users=[entry.channel], groups=[]))
        users = [str(u) for u in payload.get("users", []) if u not in acted]
        groups = [str(g) for g in payload.get("groups", [])]
        message = blocks.build_approval_reminder(record, users=users, groups=groups)
        threads = [(c, ts) for channel, c, ts in self._approval_messages(record.id) if channel == entry.channel]
        if threads:
            return self.slack.post(threads[0][0], message, thread_ts=threads[0][1])
        return self.slack.post(entry.channel, message)

    def _approval_update(self, entry: OutboxEntry, payload: dict[str, Any], now: datetime) -> Done:
        record = self._scheduled_job(payload)
        requests = [e.payload for e in self._approval_requests(record.id) if e.channel == entry.channel]
        message = blocks.build_approval_message(record, now=now, dry_run=self._latest_dry_run(record.id),
                                                approvers=self._approvers(requests[0]) if requests else None,
                                                last_run=self._latest_run(record),
                                                requester_name=self._name(record))
        group = is_group(entry.channel)
        covered: set[str] = set()
        if group:  # members' messages not covered by an update of their own
            with self.db.read() as session:
                covered = {e.channel for e in Repositories(session).outbox.list_for(ObjectType.SCHEDULED_JOB, record.id)
                           if e.kind is OutboxKind.APPROVAL_UPDATE}
        for channel, message_channel, message_ts in self._approval_messages(record.id):
            member = group and not channel.startswith(("C", "G")) and not is_group(channel) and channel not in covered
            if channel == entry.channel or member:
                self.slack.update(message_channel, message_ts, message)
        return Done(OutboxStatus.SENT)

    def _approval_requests(self, scheduled_job_id: str) -> list[OutboxEntry]:
        """The delivered approval requests of a request (one per message posted)."""
        with self.db.read() as session:
            return list(Repositories(session).outbox.delivered(ObjectType.SCHEDULED_JOB, scheduled_job_id,
                                                               kind=OutboxKind.APPROVAL_REQUEST))

    def _approval_messages(self, scheduled_job_id: str) -> list[tuple[str, str, str]]:
        """``(outbox channel, message channel, message ts)`` of every approval message posted for a request."""
        return [(e.channel, str(e.message_channel), str(e.message_ts))
                for e in self._approval_requests(scheduled_job_id)]

    def _run_finished(self, entry: OutboxEntry, payload: dict[str, Any], now: datetime) -> Done:
        with self.db.read() as session:
            result = Repositories(session).job_results.get(str(payload.get("job_result_id", "")))
        threads: list[tuple[str, str, str]] = []
        if result is not None and result.dry_run and result.scheduled_job_id and "thread_ts" not in payload:
            threads = self._approval_messages(result.scheduled_job_id)
        if result is None:
            raise Permanent(f"job result {payload.get('job_result_id')} not found")
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
            return Done(OutboxStatus.EXPANDED, children=children)
        if thread is not None:  # a dry run's reply, then (next attempt) its whole log as a file when it is long
            thread_channel, thread_ts = thread
            if entry.message_ts is None:
                done = self.slack.post(thread_channel, blocks.build_dry_run_reply(result), thread_ts=thread_ts)
                if blocks.log_file(result, limit=blocks.DRY_RUN_LOG_TEXT) is None:
                    return done
                return Done(OutboxStatus.PENDING, done.message_channel, done.message_ts)
            self._share_log(thread_channel, thread_ts, result, limit=blocks.DRY_RUN_LOG_TEXT)
            return Done(OutboxStatus.SENT, entry.message_channel, entry.message_ts)
        if entry.message_ts is None:  # first the result, then (next attempt) its log in the thread
            return self._announce_run(entry, result, now)
        if blocks.log_file(result) is None:
            self.slack.post(str(entry.message_channel), blocks.build_run_log(result), thread_ts=entry.message_ts)
            return Done(OutboxStatus.SENT, entry.message_channel, entry.message_ts)
        self._share_log(str(entry.message_channel), entry.message_ts, result)
        return Done(OutboxStatus.SENT, entry.message_channel, entry.message_ts)

    def _announce_run(self, entry: OutboxEntry, result: JobResultRecord, now: datetime) -> Done:
        """Post a finished run's message: a reply in its scheduled job's thread when it completed and an earlier run
        started that thread (``bot.domain.run_notices``), else a message of its own, which starts the thread when
        there is none yet. The entry is then half sent: its log follows in that thread on the next attempt."""
        schedule: ScheduledJobRecord | None = None
        thread: tuple[str, str] | None = None
        if result.scheduled_job_id is not None and not result.dry_run:
            with self.db.read() as session:
                repos = Repositories(session)
                schedule = repos.scheduled_jobs.get(result.scheduled_job_id)
                thread = repos.run_threads.get(result.scheduled_job_id, entry.channel)
        lost_thread = False
        if thread is not None and run_notices.told_in_thread(
                status=result.status, dry_run=result.dry_run, scheduled_job_id=result.scheduled_job_id,
                has_thread=True):
            try:
                self.slack.post(thread[0], blocks.build_run_finished(result, scheduled_job=schedule, in_thread=True),
                                thread_ts=thread[1])
                return Done(OutboxStatus.PENDING, thread[0], thread[1])
            except Permanent as refused:  # the thread's first message is gone: this run starts a new thread
                log.warning("Thread of scheduled job %s refused (%s); starting a new one", result.scheduled_job_id,
                            refused)
                lost_thread = True
        starts = schedule is not None and (thread is None or lost_thread)
        recurring = schedule is not None and schedule.schedule.is_recurring
        done = self.slack.post(entry.channel, blocks.build_run_finished(result, scheduled_job=schedule,
                                                                        starts_thread=starts and recurring))
        if starts and result.scheduled_job_id is not None and done.message_channel and done.message_ts:
            with self.db.write() as session:
                threads = Repositories(session).run_threads
                record = threads.replace if lost_thread else threads.add
                record(result.scheduled_job_id, entry.channel, message_channel=done.message_channel,
                       message_ts=done.message_ts, now=now)
        return Done(OutboxStatus.PENDING, done.message_channel, done.message_ts)

    def _share_log(self, channel: str, thread_ts: str, result: JobResultRecord, *,
                   limit: int = blocks.LOG_TEXT) -> None:
        """A long log as a file in a thread; when Slack refuses the file for good (e.g. ``missing_scope``: an app
        not reinstalled since ``files:write`` was added), the start of the log saying why, instead."""
        try:
            self._upload_log(channel, thread_ts, result, limit=limit)
        except Permanent as refused:
            log.error("Log of job result %s not shared as a file (%s); posting its start instead", result.id, refused)
            self.slack.post(channel, blocks.build_run_log(result, file_refused=str(refused)), thread_ts=thread_ts)

    def _upload_log(self, channel: str, thread_ts: str, result: JobResultRecord, *,
                    limit: int = blocks.LOG_TEXT) -> None:
        """Share a run's whole log as a text file in a thread (``files_upload_v2``: ask for an upload URL, upload,
        complete the upload into the thread)."""
        file = blocks.log_file(result, limit=limit)
        assert file is not None
        filename, content = file
        client = self.slack.client
        self.slack.call(lambda: client.files_upload_v2(
            channel=channel, thread_ts=thread_ts, filename=filename, title=filename, content=content,
            initial_comment=blocks.log_file_comment(result), snippet_type="text"))

    def _scheduled_job(self, payload: dict[str, Any]) -> ScheduledJobRecord:
        with self.db.read() as session:
            record = Repositories(session).scheduled_jobs.get(str(payload.get("scheduled_job_id", "")))
        if record is None:
            raise Permanent(f"scheduled job {payload.get('scheduled_job_id')} not found")
        return record
