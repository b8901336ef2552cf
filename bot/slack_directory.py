"""The Slack user directory: who a Slack user is to jobgate (their user groups, time zone and name), read from Slack's
Web API and cached.

This is wiring: it may import anything. It never reads the environment.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.domain.permissions import Actor

log = logging.getLogger("bot.slack")  # the Slack edge logs under one name

USERGROUPS_TTL = 60.0
"""Seconds a snapshot of the workspace's user groups (and their members) is trusted."""
TIME_ZONE_TTL = 3600.0
"""Seconds a user's Slack time zone and name are trusted."""


class SlackDirectory:
    """Who a Slack user is to jobgate: their user groups (for permissions), time zone and name. Cached, thread-safe.

    Group membership comes from ``usergroups.list(include_users=True)``, one call for the whole workspace, trusted
    for ``USERGROUPS_TTL`` seconds; a user's zone and name from ``users.info``, trusted for ``TIME_ZONE_TTL``. When
    Slack cannot answer, the last known answer is used (or none: no groups, the default zone, no name), except where a
    caller asks to be told (``strict``): the notifier must not take an outage for a group that does not exist.

    Args:
        client: the Web API client.
        default_time_zone: the zone of a user whose Slack zone is unknown (``JOBGATE_TIME_ZONE``).
        clock: a monotonic clock in seconds.
    """

    def __init__(self, client: WebClient, *, default_time_zone: str,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.client = client
        self.default_time_zone = default_time_zone
        self.clock = clock
        self._lock = threading.Lock()
        self._groups: dict[str, tuple[str, tuple[str, ...]]] = {}  # handle -> (usergroup id, member user IDs)
        self._groups_at: float | None = None
        self._groups_ok = False  # whether the last usergroups.list succeeded
        self._profiles: dict[str, tuple[str, str | None, float]] = {}  # user ID -> (zone, name, when read)

    def _usergroups(self, *, strict: bool = False) -> dict[str, tuple[str, tuple[str, ...]]]:
        """The workspace's user groups by handle. When Slack cannot answer, the last known ones, or with ``strict``
        the Slack error (raised also while a failed call is not yet retried: a failure is never taken for "none")."""
        with self._lock:
            fresh = self._groups_at is not None and self.clock() - self._groups_at < USERGROUPS_TTL
            if fresh and (self._groups_ok or not strict):
                return self._groups
            try:
                response = self.client.usergroups_list(include_users=True)
            except (SlackApiError, SlackClientError, OSError) as exc:
                log.warning("usergroups.list failed (%s); using the last known user groups", type(exc).__name__)
                self._groups_at = self.clock() - USERGROUPS_TTL + 5.0  # try again in a few seconds
                self._groups_ok = False
                if strict:
                    raise
                return self._groups
            self._groups = {
                str(group.get("handle")): (str(group.get("id")), tuple(group.get("users") or ()))
                for group in response.get("usergroups") or []
                if group.get("handle") and not group.get("date_delete")
            }
            self._groups_at = self.clock()
            self._groups_ok = True
            return self._groups

    def actor(self, user_id: str) -> Actor:
        """The actor for a Slack user: their ID, and the handles (lower-cased) and IDs of the user groups they belong
        to (a pinned permissions entry matches the ID only)."""
        groups = self._usergroups()
        mine = [(handle, group_id) for handle, (group_id, users) in groups.items() if user_id in users]
        return Actor(user_id=user_id, usergroups=frozenset({h.lower() for h, _ in mine} | {g for _, g in mine}))

    def usergroup_id(self, handle: str, *, strict: bool = False) -> str | None:
        """The ID (``S…``) of the user group with this handle (with or without ``@``), if it exists.

        Args:
            handle: the group's handle.
            strict: raise Slack's error (``SlackApiError``, ``SlackClientError``, ``OSError``) when the groups cannot
                be listed, instead of answering from the last known ones (the notifier then retries later).
        """
        found = self._usergroups(strict=strict).get(handle.removeprefix("@"))
        return found[0] if found else None

    def time_zone(self, user_id: str) -> str:
        """The user's IANA time zone from their Slack profile, else the default zone."""
        return self._profile(user_id)[0]

    def display_name(self, user_id: str) -> str | None:
        """The name Slack shows for the user (their display name, else their full name, else their username), as
        plain text; None when Slack does not know it."""
        return self._profile(user_id)[1]

    def _profile(self, user_id: str) -> tuple[str, str | None]:
        """The user's (time zone, display name) from ``users.info``, cached for ``TIME_ZONE_TTL`` seconds."""
        with self._lock:
            cached = self._profiles.get(user_id)
            if cached and self.clock() - cached[2] < TIME_ZONE_TTL:
                return cached[0], cached[1]
        try:
            response = self.client.users_info(user=user_id)
        except (SlackApiError, SlackClientError, OSError) as exc:
            log.warning("users.info failed (%s); using %s", type(exc).__name__, self.default_time_zone)
            return (cached[0], cached[1]) if cached else (self.default_time_zone, None)
        found = response.get("user") or {}
        profile = found.get("profile") or {}
        zone = str(found.get("tz") or self.default_time_zone)
        names = (profile.get("display_name"), found.get("real_name"), profile.get("real_name"), found.get("name"))
        name = next((str(n).strip() for n in names if n and str(n).strip()), None)
        with self._lock:
            self._profiles[user_id] = (zone, name, self.clock())
        return zone, name
