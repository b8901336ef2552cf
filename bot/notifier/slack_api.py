"""The notifier's Web API calls: posting, updating, uploading a file and finding user-group members, with every
failure sorted into a rate limit (``Retry-After``), a transient failure (retried with backoff) or a permanent one
(given up on). No pacing and no outbox here: ``bot.notifier.delivery`` decides when to call.

This is wiring: it may import anything.
"""

from __future__ import annotations

import http.client
import urllib.error
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.domain.outbox import OutboxStatus
from bot.domain.permissions import is_usergroup_id
from handlers import blocks

TRANSIENT_ERRORS = frozenset({"internal_error", "fatal_error", "service_unavailable", "request_timeout",
                              "ratelimited", "rate_limited", "team_added_to_org"})

GONE_GROUP_ERRORS = frozenset({"no_such_subteam", "subteam_not_found"})
"""Answers of ``usergroups.users.list`` that say the group does not exist: the one case finding approvers gives up."""


class RateLimited(Exception):
    def __init__(self, retry_after: float) -> None:
        super().__init__(f"rate limited for {retry_after:g} s")
        self.retry_after = retry_after


class Transient(Exception):
    """Worth retrying later: a server error, a timeout, a dropped connection."""


class Permanent(Exception):
    """Slack will never accept this delivery as it is."""


@dataclass(frozen=True)
class Done:
    """What a delivery achieved."""

    state: OutboxStatus  # the entry's next status: sent, expanded, or pending again when half sent
    message_channel: str | None = None
    message_ts: str | None = None
    children: tuple[tuple[str, dict[str, Any]], ...] = ()


class SlackApi:
    """The Web API calls the notifier makes, on a client without retry handlers."""

    def __init__(self, client: WebClient) -> None:
        self.client = client

    def post(self, channel: str, message: blocks.Message, *, thread_ts: str | None = None) -> Done:
        """``chat.postMessage``; the message's channel and ``ts`` as Slack gave them."""
        response = self.call(lambda: self.client.chat_postMessage(channel=channel, text=message["text"],
                                                                  blocks=message["blocks"], thread_ts=thread_ts,
                                                                  unfurl_links=False))
        return Done(OutboxStatus.SENT, str(response.get("channel") or channel), str(response.get("ts")))

    def update(self, channel: str, ts: str, message: blocks.Message) -> None:
        """``chat.update`` of one of the bot's messages."""
        self.call(lambda: self.client.chat_update(channel=channel, ts=ts, text=message["text"],
                                                  blocks=message["blocks"]))

    def resolving(self, call: Callable[[], Any]) -> Any:
        """A Web API call that finds approvers: any failure of Slack's is retried later, never given up on (an approval
        request must not be lost to an outage); a 429 still pauses deliveries for its ``Retry-After``."""
        try:
            return self.call(call)
        except Permanent as failure:
            if str(failure) in GONE_GROUP_ERRORS:  # Slack answered: there is no such group (any more)
                raise
            raise Transient(f"resolving approvers: {failure}") from None

    @staticmethod
    def call(call: Callable[[], Any]) -> Any:
        """Make one Web API call, sorting failures into rate limit, transient and permanent."""
        try:
            return call()
        except SlackApiError as error:
            status = error.response.status_code
            code = str(error.response.get("error") or "") if isinstance(error.response.data, dict) else ""
            if status == 429 or code in ("ratelimited", "rate_limited"):
                raise RateLimited(retry_after(error.response.headers)) from None
            if status >= 500 or code in TRANSIENT_ERRORS:
                raise Transient(f"HTTP {status} {code}".strip()) from None
            raise Permanent(code or f"HTTP {status}") from None
        except (SlackClientError, urllib.error.URLError, http.client.HTTPException, TimeoutError, OSError) as error:
            raise Transient(type(error).__name__) from None


def is_group(channel: str) -> bool:
    """Whether an outbox channel is a user group: ``@handle``, or a pinned group's ID (``S…``)."""
    return channel.startswith("@") or is_usergroup_id(channel)


def retry_after(headers: Any) -> float:
    """Seconds of a 429's ``Retry-After`` header (1 when absent or unreadable)."""
    for key, value in dict(headers or {}).items():
        if str(key).lower() == "retry-after":
            raw = value[0] if isinstance(value, list) else value
            try:
                return float(raw)
            except (TypeError, ValueError):
                return 1.0
    return 1.0
