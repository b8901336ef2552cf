"""Whether Slack accepts jobgate's bot token: ``auth.test``, called in a background thread, never on start-up's path.

``SlackStatus`` calls ``auth.test`` as soon as it starts, again with a growing back-off (1 s, 2 s, 4 s … up to a
minute) while it fails, and every ten minutes once it succeeded, so a revoked token is noticed. ``/healthz`` reads
its last answer: Slack is ``connected`` only once ``auth.test`` succeeded; until then its ``error`` is Slack's
error code (``invalid_auth``, ``token_revoked``, …), ``http_NNN`` or ``connection``, or null before the first answer.
The bot's and the workspace's names are internals, shown only to an admin's token. Each change is logged once.

This is wiring: it may import anything. It never reads the environment.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

log = logging.getLogger(__name__)

FIRST_RETRY = 1.0
"""Seconds before the first retry of a failed ``auth.test``; each next wait doubles, up to ``LONGEST_RETRY``."""
LONGEST_RETRY = 60.0
RECHECK = 600.0
"""Seconds between checks once ``auth.test`` succeeded."""
_TOKEN_ERRORS = frozenset({"invalid_auth", "not_authed", "token_revoked", "token_expired", "account_inactive"})


@dataclass(frozen=True)
class _Answer:
    """The last answer to ``auth.test``."""

    connected: bool
    error: str | None = None
    bot: str | None = None
    bot_user_id: str | None = None
    team: str | None = None
    team_id: str | None = None


class SlackStatus:
    """The state of jobgate's connection to Slack, from ``auth.test``.

    Args:
        client: a Web API client with the bot token (without retry handlers: this class retries itself).
        mode: how Slack reaches jobgate, ``http`` or ``socket``.
    """

    def __init__(self, client: WebClient, *, mode: str) -> None:
        self.client = client
        self.mode = mode
        self._answer: _Answer | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Check in the background, at once and then on, until :meth:`stop`. Returns immediately."""
        self._thread = threading.Thread(target=self._run, name="slack-auth-test", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop checking (an ``auth.test`` under way is left to its 10 s timeout)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=1)

    def check(self) -> bool:
        """Call ``auth.test`` once and record its answer; True when it succeeded."""
        try:
            body = self.client.auth_test().data
            assert isinstance(body, dict)
            answer = _Answer(connected=True, bot=_text(body.get("user")), bot_user_id=_text(body.get("user_id")),
                             team=_text(body.get("team")), team_id=_text(body.get("team_id")))
        except SlackApiError as exc:  # Slack answered: an error code with 200, else its HTTP status
            status = exc.response.status_code
            code = exc.response.get("error") if status == 200 and isinstance(exc.response.data, dict) else None
            answer = _Answer(connected=False, error=_text(code) or f"http_{status}")
        except (SlackClientError, OSError) as exc:
            log.debug("auth.test did not reach Slack: %s", exc)
            answer = _Answer(connected=False, error="connection")
        self._record(answer)
        return answer.connected

    def report(self, *, internals: bool) -> dict[str, Any]:
        """The ``slack`` part of ``/healthz``; with ``internals``, also who the bot is and in which workspace."""
        with self._lock:
            answer = self._answer
        if answer is not None and answer.connected:
            shown: dict[str, Any] = {"connected": True, "mode": self.mode}
            if internals:
                shown.update(bot=answer.bot, bot_user_id=answer.bot_user_id, team=answer.team, team_id=answer.team_id)
            return shown
        return {"connected": False, "mode": self.mode, "error": answer.error if answer else None}

    def _record(self, answer: _Answer) -> None:
        with self._lock:
            before, self._answer = self._answer, answer
        if before == answer:
            return
        if answer.connected:
            log.info("Slack connected: auth.test accepted the bot token (bot @%s in workspace %s)", answer.bot,
                     answer.team)
        elif before is None or before.connected or before.error != answer.error:
            why = ("auth.test could not reach Slack" if answer.error == "connection"
                   else f"auth.test answered {answer.error}")
            hint = " (check SLACK_BOT_TOKEN)" if answer.error in _TOKEN_ERRORS else ""
            log.warning("Slack is not connected: %s%s; trying again with a growing back-off (up to every %d s)",
                        why, hint, int(LONGEST_RETRY))

    def _run(self) -> None:
        delay = FIRST_RETRY
        while not self._stop.is_set():
            if self.check():
                delay = FIRST_RETRY
                self._stop.wait(RECHECK)
            else:
                self._stop.wait(delay)
                delay = min(delay * 2, LONGEST_RETRY)


def _text(value: object) -> str | None:
    return str(value) if value else None
