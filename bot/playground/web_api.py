"""The Slack Web API methods the simulator answers, as Slack answers them, and what each does to the workspace.

``auth.test``, ``chat.postMessage/update/postEphemeral``, ``views.open/update/push/publish``, ``users.info``,
``usergroups.list``, ``usergroups.users.list``, ``conversations.open``, ``apps.connections.open`` (Socket Mode), and
``files.getUploadURLExternal`` / the upload URL / ``files.completeUploadExternal`` (``files_upload_v2``), and
``files.info`` for a file a person attached in a modal's ``file_input`` (``attach_file``), whose
``url_private_download`` serves its bytes to the bot's token only (``download``). Blocks and
views that break Slack's limits are answered ``invalid_blocks`` (``bot.playground.slack_limits``), a ``text`` over
40,000 characters ``msg_too_long``. With ``strict`` (the playground), what Slack would refuse for lack of context is
refused too: ``chat.update`` of an unknown message (``message_not_found``), ``views.open`` with a trigger_id it did
not hand out (``invalid_trigger_id``), ``views.update`` of an unknown view (``not_found``) or with a stale ``hash``
(``hash_conflict``).

Pure: stdlib only.
"""

from __future__ import annotations

import abc
import itertools
import json
import threading
import time
from dataclasses import dataclass
from typing import Any

from bot.playground.slack_limits import MAX_TEXT, RESPONSE_URL_METHOD, check_request
from bot.playground.workspace import BOT_USER_ID, Workspace


@dataclass(frozen=True)
class SharedFile:
    """A file uploaded and shared with ``files.completeUploadExternal``."""

    id: str
    filename: str
    title: str
    content: str
    channel: str
    thread_ts: str | None
    initial_comment: str | None


def conversation_of(channel: str) -> str:
    """The conversation a message to ``channel`` lands in: a user ID means the direct message with the bot."""
    return "D" + channel[1:] if channel.startswith(("U", "W")) else channel


def _blocks(value: Any) -> list[Any]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return []
    return list(value) if isinstance(value, list) else []


def _view(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return dict(value) if isinstance(value, dict) else {}


class WebApiMethods(abc.ABC):
    """The state the Web API methods read and write, and their answers.

    Attributes:
        users: user ID → profile fields returned by ``users.info`` (``tz`` at least; ``real_name`` for the page).
        usergroups: handle → (usergroup ID, member user IDs).
        socket_mode_url: the WebSocket URL ``apps.connections.open`` hands out; None answers it with an error.
        files: the files shared so far.
        attached: file ID → (name, mimetype, content) of the files people attached in modals.
        bot_token: the token an attached file's download is served to; None: any bot token (``xoxb-``).
        workspace: channels, messages, modals and the feed of events.
        strict: refuse what Slack refuses for lack of context (unknown messages, triggers and views).
    """

    def __init__(self, *, strict: bool = False) -> None:
        self.users: dict[str, dict[str, Any]] = {}
        self.usergroups: dict[str, tuple[str, list[str]]] = {}
        self.socket_mode_url: str | None = None
        self.files: list[SharedFile] = []
        self.attached: dict[str, tuple[str, str, bytes]] = {}
        self.bot_token: str | None = None
        self.workspace = Workspace()
        self.strict = strict
        self._uploads: dict[str, dict[str, Any]] = {}
        self._ts = itertools.count(1)
        self._last_ts = 0
        self._lock = threading.Condition()

    @abc.abstractmethod
    def _base(self) -> str:
        """The simulator's own URL, for the upload and download URLs it hands out (the server knows it)."""

    def _next_ts(self) -> str:
        """A message timestamp as Slack makes them: the time it was posted, unique in the workspace."""
        with self._lock:
            micros = max(int(time.time() * 1_000_000), self._last_ts + 1)
            self._last_ts = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _answer(self, method: str, params: dict[str, Any], token: str = "") -> dict[str, Any]:
        problems = check_request(method, params, method, require_text=False)
        if problems:
            return {"ok": False, "error": "invalid_blocks", "response_metadata": {"messages": problems}}
        if method in ("chat.postMessage", "chat.update", "chat.postEphemeral") and len(
                str(params.get("text") or "")) > MAX_TEXT:
            return {"ok": False, "error": "msg_too_long"}
        if method == "apps.connections.open":
            if not token.startswith("xapp-"):  # Slack wants the app-level token here, never the bot token
                return {"ok": False, "error": "not_allowed_token_type"}
            if self.socket_mode_url is None:
                return {"ok": False, "error": "socket_mode_not_enabled"}
            return {"ok": True, "url": self.socket_mode_url}
        if method == "auth.test":
            return {"ok": True, "url": "https://jobgate-test.slack.com/", "team": "Test", "user": "jobgate",
                    "team_id": "T0TEST", "user_id": BOT_USER_ID, "bot_id": "BJOBGATE"}
        if method.startswith("chat."):
            return self._chat(method, params)
        if method.startswith("views."):
            return self._views(method, params)
        if method == "users.info":
            user_id = str(params.get("user", ""))
            if user_id not in self.users:
                return {"ok": False, "error": "user_not_found"}
            return {"ok": True, "user": {"id": user_id, **self.users[user_id]}}
        if method == "usergroups.list":
            include = str(params.get("include_users", "")).lower() in ("1", "true")
            return {"ok": True, "usergroups": [
                {"id": gid, "handle": handle, **({"users": list(users)} if include else {})}
                for handle, (gid, users) in self.usergroups.items()
            ]}
        if method == "usergroups.users.list":
            for gid, users in self.usergroups.values():
                if gid == params.get("usergroup"):
                    return {"ok": True, "users": list(users)}
            return {"ok": False, "error": "no_such_subteam"}
        if method.startswith("files."):
            return self._files(method, params)
        if method == "conversations.open":
            first = str(params.get("users", "")).split(",")[0]
            return {"ok": True, "channel": {"id": "D" + first[1:]}}
        return {"ok": False, "error": "unknown_method"}

    # -------------------------------------------------------------------------------------------------- chat

    def _chat(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        channel = conversation_of(str(params.get("channel", "")))
        text, blocks = str(params.get("text") or ""), _blocks(params.get("blocks"))
        if not text and not blocks:
            return {"ok": False, "error": "no_text"}
        if method == "chat.postEphemeral":
            ts = self._next_ts()
            self.workspace.post(channel=channel, ts=ts, text=text, blocks=blocks, only_for=str(params.get("user")),
                                thread_ts=params.get("thread_ts"))
            return {"ok": True, "message_ts": ts}
        if method == "chat.update":
            ts = str(params.get("ts") or "")
            if not self.workspace.update(channel=channel, ts=ts, text=text, blocks=blocks) and self.strict:
                return {"ok": False, "error": "message_not_found"}
            return {"ok": True, "channel": channel, "ts": ts, "message": {"text": text, "blocks": blocks}}
        if method != "chat.postMessage":
            return {"ok": False, "error": "unknown_method"}
        ts = self._next_ts()
        self.workspace.post(channel=channel, ts=ts, text=text, blocks=blocks, thread_ts=params.get("thread_ts"))
        return {"ok": True, "channel": channel, "ts": ts, "message": {"text": text, "blocks": blocks}}

    def answer_response_url(self, path: str, params: dict[str, Any]) -> dict[str, Any]:
        """A post to a ``response_url``: ephemeral by default, ``in_channel``, or replacing or deleting the message
        acted on. Answers as Slack does (``invalid_blocks``, ``no_text``)."""
        problems = check_request(RESPONSE_URL_METHOD, params, RESPONSE_URL_METHOD, require_text=False)
        if problems:
            return {"ok": False, "error": "invalid_blocks", "response_metadata": {"messages": problems}}
        text, blocks = str(params.get("text") or ""), _blocks(params.get("blocks"))
        reply = self.workspace.reply_for(path)
        if reply is None or reply.channel is None:
            return {"ok": True}
        truthy = ("true", "1", True)
        if params.get("delete_original") in truthy and reply.message_ts:
            self.workspace.delete(channel=reply.channel, ts=reply.message_ts)
            return {"ok": True}
        if not text and not blocks:
            return {"ok": False, "error": "no_text"}
        if params.get("replace_original") in truthy and reply.message_ts:
            self.workspace.update(channel=reply.channel, ts=reply.message_ts, text=text, blocks=blocks)
            return {"ok": True}
        in_channel = params.get("response_type") == "in_channel"
        self.workspace.post(channel=reply.channel, ts=self._next_ts(), text=text, blocks=blocks,
                            only_for=None if in_channel else reply.user, thread_ts=params.get("thread_ts"))
        return {"ok": True}

    # ------------------------------------------------------------------------------------------------- views

    def _views(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        view = _view(params.get("view"))
        if method == "views.publish":
            home_user = str(params.get("user_id") or "")
            if self.strict and home_user not in self.users:
                return {"ok": False, "error": "user_not_found"}
            return {"ok": True, "view": self.workspace.publish_home(home_user, view)}
        if method in ("views.open", "views.push"):
            trigger = str(params.get("trigger_id") or "")
            user = self.workspace.trigger_user(trigger)
            if user is None and self.strict:
                return {"ok": False, "error": "invalid_trigger_id"}
            kind = "view_open" if method == "views.open" else "view_push"
            return {"ok": True, "view": self.workspace.open_view(user=user, view=view, kind=kind)}
        if method == "views.update":
            view_id = str(params.get("view_id") or "")
            known = self.workspace.view(view_id)
            if known is None:
                if self.strict:
                    return {"ok": False, "error": "not_found"}
                return {"ok": True, "view": {**view, "id": view_id or self.workspace.new_view_id(),
                                             "hash": f"h{next(self._ts)}"}}
            given_hash = params.get("hash")
            if self.strict and given_hash and given_hash != known["view"].get("hash"):
                return {"ok": False, "error": "hash_conflict"}
            updated = self.workspace.update_view(view_id, view)
            return {"ok": True, "view": updated} if updated is not None else {"ok": False, "error": "not_found"}
        return {"ok": False, "error": "unknown_method"}

    # ------------------------------------------------------------------------------------------------- files

    def attach_file(self, name: str, content: bytes, mimetype: str = "text/plain") -> dict[str, Any]:
        """A file a person attached in a modal's ``file_input``: kept here, and returned as the file object the view
        submission's state carries (``files.info`` and its download answer for it)."""
        file_id = f"F{next(self._ts):08d}"
        with self._lock:
            self.attached[file_id] = (name, mimetype, content)
        return self._attached_file(file_id, name, mimetype, content)

    def _attached_file(self, file_id: str, name: str, mimetype: str, content: bytes) -> dict[str, Any]:
        url = f"{self._base()}/download/{file_id}"
        return {"id": file_id, "name": name, "mimetype": mimetype, "size": len(content), "url_private": url,
                "url_private_download": url}

    def download(self, file_id: str, token: str) -> bytes | None:
        """An attached file's bytes, as Slack serves them at ``url_private_download``: to the bot's token only
        (None otherwise, or for a file nobody attached)."""
        allowed = token == self.bot_token if self.bot_token is not None else token.startswith("xoxb-")
        with self._lock:
            attached = self.attached.get(file_id)
        return attached[2] if attached is not None and allowed else None

    def _files(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        if method == "files.info":
            file_id = str(params.get("file", ""))
            with self._lock:
                attached = self.attached.get(file_id)
            if attached is None:
                return {"ok": False, "error": "file_not_found"}
            return {"ok": True, "file": self._attached_file(file_id, *attached)}
        if method == "files.getUploadURLExternal":
            length = str(params.get("length", ""))
            if not params.get("filename") or not length.isdigit():
                return {"ok": False, "error": "invalid_arguments"}
            file_id = f"F{next(self._ts):08d}"
            with self._lock:
                self._uploads[file_id] = {"filename": str(params["filename"]), "length": int(length), "data": None}
            return {"ok": True, "file_id": file_id, "upload_url": f"{self._base()}/upload/{file_id}"}
        if method != "files.completeUploadExternal":
            return {"ok": False, "error": "unknown_method"}
        files = params.get("files")
        files = json.loads(files) if isinstance(files, str) else files
        channel = str(params.get("channel_id") or "")
        shared = []
        with self._lock:
            for item in files or []:
                upload = self._uploads.get(str(item.get("id")))
                if upload is None or upload["data"] is None:
                    return {"ok": False, "error": "file_not_found"}
                shared.append(SharedFile(
                    id=str(item["id"]), filename=upload["filename"], title=str(item.get("title") or ""),
                    content=upload["data"].decode(), channel=channel, thread_ts=params.get("thread_ts"),
                    initial_comment=params.get("initial_comment")))
            if not shared or not channel:
                return {"ok": False, "error": "invalid_arguments"}
            self.files.extend(shared)
        for item in shared:
            self.workspace.post(channel=conversation_of(channel), ts=self._next_ts(),
                                text=item.initial_comment or "", blocks=[], thread_ts=item.thread_ts,
                                file={"filename": item.filename, "title": item.title, "content": item.content})
        return {"ok": True, "files": [{"id": f.id, "name": f.filename, "title": f.title} for f in shared]}

    def receive_upload(self, file_id: str, raw: bytes) -> bool:
        """The bytes of a file posted to the upload URL handed out; False when they do not match what was asked."""
        with self._lock:
            upload = self._uploads.get(file_id)
            if upload is None or upload["length"] != len(raw):
                return False
            upload["data"] = raw
            return True
