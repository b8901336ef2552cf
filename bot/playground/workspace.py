"""What the Slack simulator's workspace holds, and its feed: the channels and direct messages, every message posted,
updated or shown to one person only, the modals and Home tabs, as an ordered list of events a page can follow.

Each event is a dict with a ``seq`` (1, 2, …) and a ``kind``:

- ``message``: ``channel``, ``ts``, ``thread_ts`` (a reply), ``text``, ``blocks``, ``user`` (who posted; the bot's
  user ID), ``only_for`` (an ephemeral message: the one user who sees it), ``file`` (a shared file: ``filename``,
  ``title``, ``content``).
- ``update``: ``channel``, ``ts``, ``text``, ``blocks`` (the message is replaced in place); ``delete``: ``channel``,
  ``ts``.
- ``view_open`` / ``view_update`` / ``view_push``: ``user``, ``view_id``, ``view`` (a modal); ``view_errors``:
  ``user``, ``view_id``, ``errors`` (block_id → message, from ``response_action: errors``); ``view_close``:
  ``user``, ``view_id`` (None: every modal of that user).
- ``home``: ``user``, ``view`` (the App Home tab ``views.publish`` drew).

Pure: stdlib only.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from typing import Any

BOT_USER_ID = "UJOBGATEBOT"


@dataclass
class Reply:
    """Where a ``response_url`` answers: the conversation, the user who acted, and the message acted on."""

    channel: str | None
    user: str | None
    message_ts: str | None = None
    ephemeral: bool = False


@dataclass
class Workspace:
    """The simulated workspace: channels by ID (name without ``#``), messages, modals and the feed of events.

    Thread-safe: every method takes the lock.
    """

    channels: dict[str, str] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    messages: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    views: dict[str, dict[str, Any]] = field(default_factory=dict)
    """view ID → ``{"user", "view", "hash"}``."""
    triggers: dict[str, str] = field(default_factory=dict)
    """trigger_id → the user whose action made it."""
    replies: dict[str, Reply] = field(default_factory=dict)
    """response_url path → where it answers."""

    def __post_init__(self) -> None:
        self._lock = threading.RLock()
        self._seq = itertools.count(1)
        self._ids = itertools.count(1)

    # ----------------------------------------------------------------------------------------------- the feed

    def add(self, kind: str, **fields: Any) -> dict[str, Any]:
        """Append an event to the feed (its ``seq`` is its position, counted from 1)."""
        with self._lock:
            event = {"seq": next(self._seq), "kind": kind, **fields}
            self.events.append(event)
            return event

    def since(self, after: int) -> list[dict[str, Any]]:
        """The events after ``after``, in order."""
        with self._lock:
            return self.events[after:] if after >= 0 else list(self.events)

    # ---------------------------------------------------------------------------------------------- messages

    def post(self, *, channel: str, ts: str, text: str, blocks: list[Any], thread_ts: str | None = None,
             only_for: str | None = None, user: str = BOT_USER_ID, file: dict[str, Any] | None = None) -> None:
        """A message appears in ``channel`` (for ``only_for`` alone when ephemeral)."""
        message = {"channel": channel, "ts": ts, "text": text, "blocks": blocks, "thread_ts": thread_ts,
                   "only_for": only_for, "user": user, "file": file}
        with self._lock:
            self.messages[(channel, ts)] = message
            self.add("message", **message)

    def message(self, channel: str, ts: str) -> dict[str, Any] | None:
        """The message at ``ts`` in ``channel`` as it now reads, if there is one."""
        with self._lock:
            found = self.messages.get((channel, ts))
            return dict(found) if found is not None else None

    def update(self, *, channel: str, ts: str, text: str, blocks: list[Any]) -> bool:
        """Replace a message in place; False when there is no such message."""
        with self._lock:
            found = self.messages.get((channel, ts))
            if found is None:
                return False
            found.update(text=text, blocks=blocks)
            self.add("update", channel=channel, ts=ts, text=text, blocks=blocks)
            return True

    def delete(self, *, channel: str, ts: str) -> bool:
        """Remove a message; False when there is no such message."""
        with self._lock:
            if self.messages.pop((channel, ts), None) is None:
                return False
            self.add("delete", channel=channel, ts=ts)
            return True

    # ------------------------------------------------------------------------------------------------- views

    def new_view_id(self) -> str:
        with self._lock:
            return f"VSIM{next(self._ids):06d}"

    def open_view(self, *, user: str | None, view: dict[str, Any], kind: str = "view_open") -> dict[str, Any]:
        """A modal opens (or is pushed) for ``user``; returns the view as Slack answers it (``id``, ``hash``)."""
        with self._lock:
            view_id = self.new_view_id()
            shown = {**view, "id": view_id, "hash": f"h{next(self._ids)}", "state": {"values": {}}}
            self.views[view_id] = {"user": user, "view": shown}
            self.add(kind, user=user, view_id=view_id, view=shown)
            return shown

    def update_view(self, view_id: str, view: dict[str, Any]) -> dict[str, Any] | None:
        """A modal is redrawn in place; None when there is no such view."""
        with self._lock:
            known = self.views.get(view_id)
            if known is None:
                return None
            shown = {**view, "id": view_id, "hash": f"h{next(self._ids)}", "state": {"values": {}}}
            known["view"] = shown
            self.add("view_update", user=known["user"], view_id=view_id, view=shown)
            return shown

    def view(self, view_id: str) -> dict[str, Any] | None:
        """``{"user", "view"}`` of a modal or Home tab, if known."""
        with self._lock:
            known = self.views.get(view_id)
            return dict(known) if known is not None else None

    def publish_home(self, user: str, view: dict[str, Any]) -> dict[str, Any]:
        """Draw ``user``'s App Home tab."""
        with self._lock:
            view_id = f"VHOME{user}"
            shown = {**view, "id": view_id, "hash": f"h{next(self._ids)}", "state": {"values": {}}}
            self.views[view_id] = {"user": user, "view": shown}
            self.add("home", user=user, view_id=view_id, view=shown)
            return shown

    # -------------------------------------------------------------------------------------- triggers, replies

    def trigger_user(self, trigger_id: str) -> str | None:
        with self._lock:
            return self.triggers.get(trigger_id)

    def remember_trigger(self, trigger_id: str, user: str) -> None:
        with self._lock:
            self.triggers[trigger_id] = user

    def remember_reply(self, path: str, reply: Reply) -> None:
        with self._lock:
            self.replies[path] = reply

    def reply_for(self, path: str) -> Reply | None:
        with self._lock:
            return self.replies.get(path)
