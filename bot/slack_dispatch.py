"""Answering a Slack request the moment its listener acknowledges it, while the listener goes on with its work.

jobgate's Bolt app runs each listener on the thread that dispatches the request (``process_before_response``, set by
``bot.slack.build_bolt_app``), so Bolt's ``dispatch`` returns only when the listener returns. ``dispatch_at_ack``
puts a hook on the request (``ON_ACK``) that ``bot.slack.ListenerGuard`` calls as soon as the listener acks: the
answer goes out then, with no hand-over to another thread and no polling for the ack, and the listener's work after
the ack stays on the same thread. A request answered without an ack (a refusal before it, no listener) is answered
with what ``dispatch`` returns. The HTTP gate (``bot.slack_gate``) and Socket Mode (``bot.socket_mode``) both
dispatch this way.

This is wiring: it may import anything.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from slack_bolt import App, BoltRequest, BoltResponse

log = logging.getLogger("bot.slack")  # the Slack edge logs under one name

ON_ACK = "jobgate_on_ack"
"""The key, in a request's Bolt context, of what to call with the ack once the listener acknowledges."""


class _Once:
    """Calls ``answer`` with the first response it is given; later ones are dropped."""

    def __init__(self, answer: Callable[[BoltResponse], None]) -> None:
        self._answer = answer
        self._lock = threading.Lock()
        self.called = False

    def __call__(self, response: BoltResponse) -> None:
        with self._lock:
            if self.called:
                return
            self.called = True
        self._answer(response)


def dispatch_at_ack(app: App, request: BoltRequest, answer: Callable[[BoltResponse], None]) -> None:
    """Dispatch ``request`` on this thread; ``answer`` is called once, with the ack as soon as the listener
    acknowledges, else with what Bolt's dispatch returns. Returns when the listener has finished its work.

    Raises:
        Exception: what Bolt's dispatch raised before anything was answered (the caller answers it). Raised after
            the answer went out, it is logged.
    """
    once = _Once(answer)
    request.context[ON_ACK] = once
    try:
        response = app.dispatch(request)
    except Exception:
        if not once.called:
            raise
        log.exception("Slack dispatch failed after the request was answered")
        return
    once(response)
