"""Slack wiring: the Bolt app, its Web API client, its one error path and the Socket Mode runner.

``build_bolt_app`` builds the synchronous Bolt app with jobgate's listeners (``handlers.register``), one global
middleware that hands ``services`` and ``directory`` to every listener by name, and ``ListenerGuard``, the one error
path every listener runs in: a ``DomainError`` becomes a reply to that user alone, before or after the ack; anything
else is logged with its traceback, and the user only hears that something went wrong. ``bot.slack_gate`` mounts
``POST /slack/events`` on the FastAPI app (its body limit and signature check come first) and ``bot.slack_directory``
is the user directory. ``run_socket_mode`` connects the same app over Socket Mode instead (``bot.socket_mode``).

This is wiring: it may import anything. It never reads the environment; ``Settings`` come in.
"""

from __future__ import annotations

import inspect
import json
import logging
import threading
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, BoltContext, BoltRequest, BoltResponse
from slack_bolt.context.respond import Respond
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from slack_sdk import WebClient
from slack_sdk.http_retry import HttpRequest, HttpResponse, RetryHandler, RetryState
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

import handlers
from bot.config import Settings
from bot.domain.errors import AlreadyDecidedError, DatabaseUnavailableError, DomainError, InvalidStateError
from bot.metrics import Metrics
from bot.services import Services
from bot.slack_directory import SlackDirectory
from bot.slack_dispatch import ON_ACK
from bot.socket_mode import SocketModeRunner
from handlers import blocks
from handlers.blocks import Message
from handlers.payloads import block_errors
from handlers.replies import reply_privately

log = logging.getLogger(__name__)

LISTENER_THREADS = 512
"""The threads Slack requests are dispatched on (``bot.slack_gate``; Socket Mode has its own). Each runs one listener
from its ack through its work; listeners wait for one of a few work slots after their ack (``WORK_SLOTS``), so this
pool mostly holds idle threads waiting their turn; it bounds how many requests may be in flight at once."""
WORK_SLOTS = 4
"""How many listeners may work after their ack at once (``ListenerGuard``). Acks never wait for a slot: under a burst,
the work queues (its thread blocked, holding no lock) while new requests are still acknowledged at once."""
SOMETHING_WENT_WRONG = "⚠️ Something went wrong on jobgate's side; it has been logged."
"""All a Slack user is told of a failure that is not a refusal; its traceback goes to the log."""


def build_client(settings: Settings, *, token: str | None = None, retries: bool = True,
                 metrics: Metrics | None = None) -> WebClient:
    """A Web API client on ``JOBGATE_SLACK_API_URL`` with slack_sdk's retry handlers.

    Args:
        settings: jobgate's settings (bot token and API URL).
        token: the token to use instead of ``SLACK_BOT_TOKEN``.
        retries: add the rate-limit, server-error and connection-error retry handlers (one retry each).
        metrics: where every failed attempt is counted (``jobgate_slack_api_errors``, ``…_rate_limited``).
    """
    handlers_: list[RetryHandler] = [SlackFailureCounter(metrics)] if metrics is not None else []
    if retries:
        handlers_ += [ConnectionErrorRetryHandler(), RateLimitErrorRetryHandler(), ServerErrorRetryHandler()]
    return WebClient(token=token or settings.slack_bot_token, base_url=settings.slack_api_url,
                     retry_handlers=handlers_, timeout=10)


class SlackFailureCounter(RetryHandler):
    """Counts every Web API attempt that failed (also those retried afterwards); never asks for a retry itself.

    slack_sdk shows each attempt's response to its retry handlers in turn: this one goes first and only looks.
    """

    def __init__(self, metrics: Metrics) -> None:
        super().__init__(max_retry_count=1 << 30)
        self.metrics = metrics

    def _can_retry(self, *, state: RetryState, request: HttpRequest, response: HttpResponse | None = None,
                   error: Exception | None = None) -> bool:
        method = request.url.rstrip("/").rsplit("/", 1)[-1].split("?", 1)[0] or "unknown"
        if response is None:
            self.metrics.slack_call_failed(method, status=0, error=None)
            return False
        body = response.body if isinstance(response.body, dict) else {}
        if response.status_code >= 400:
            code = body.get("error") if body.get("ok") is False else None
            self.metrics.slack_call_failed(method, status=response.status_code, error=_short(code))
        elif body.get("ok") is False:
            self.metrics.slack_call_failed(method, status=response.status_code, error=_short(body.get("error")))
        return False


def _short(code: object) -> str | None:
    """Slack's error code as a label: a short word, never free text."""
    text = str(code) if code else ""
    return text[:64] if text and all(c.isalnum() or c == "_" for c in text) else None


def build_bolt_app(settings: Settings, services: Services, *, client: WebClient | None = None,
                   metrics: Metrics | None = None) -> App:
    """Build jobgate's synchronous Bolt app.

    Args:
        settings: jobgate's settings (bot token, signing secret, API URL, default time zone).
        services: the use cases; every listener receives them as ``services``.
        client: the Web API client; by default one on ``JOBGATE_SLACK_API_URL`` with slack_sdk's retry handlers.
        metrics: where the default client's failed calls are counted.

    Returns:
        The app. It does not call ``auth.test`` when built; Bolt does once, at the first request.
    """
    client = client or build_client(settings, metrics=metrics)
    directory = SlackDirectory(client, default_time_zone=settings.time_zone)
    logging.getLogger("jobgate.slack").addFilter(_drop_token_notice)  # once: the same filter is not added twice
    app = App(
        signing_secret=settings.slack_signing_secret or "",
        client=client,
        token_verification_enabled=False,
        request_verification_enabled=False,  # done before Bolt, quietly: bot.slack_gate.SlackEdge
        # Listeners run on the dispatching thread; bot.slack_dispatch sends the answer the moment they ack.
        process_before_response=True,
        logger=logging.getLogger("jobgate.slack"),
    )

    def attach_services(context: BoltContext, next_: Callable[[], None]) -> None:
        context["services"] = services
        context["directory"] = directory
        next_()

    app.middleware(attach_services)
    guard = ListenerGuard(app, work_slots=WORK_SLOTS)
    app.error(guard.handle_error)
    handlers.register(guard)
    return app


_TOKEN_NOTICE = warning_client_prioritized_and_token_skipped()


def _drop_token_notice(record: logging.LogRecord) -> bool:
    """Drop Bolt's notice that ``token`` is unused, and only that line.

    Bolt reads ``SLACK_BOT_TOKEN`` from the environment by itself and, given a ``client`` too (jobgate's, with the
    bot token, its API URL and retry handlers), says at every start that it uses the client's token instead: true,
    and nothing to act on.
    """
    return record.getMessage() != _TOKEN_NOTICE


class ListenerGuard:
    """The one error path of jobgate's Slack edge, and its work slots. Every listener runs inside it.

    What a listener raises goes to the acting user alone. A refusal (``DomainError``) is shown: in the ack when there
    is still one to send (a slash command's ephemeral answer; a view submission's ``response_action: errors`` on its
    input blocks, or a notice in place of a modal without inputs), else through ``response_url``, as an ephemeral
    message, in a small modal or by direct message (``handlers.replies.reply_privately``). Anything else is logged
    with its traceback, and the user is told only ``SOMETHING_WENT_WRONG``.

    Why it is shaped this way (slack_bolt 1.30, ``listener/thread_runner.py``): by default a listener runs on Bolt's
    listener executor while the dispatching thread polls ``ack.response`` every 10 ms (jobgate's app instead runs it
    on the dispatching thread and answers at the ack: ``bot.slack_dispatch``). Bolt catches what the listener raises.
    Before the ack that path is sound: the app's error handler gets the response to fill, which is sent as the ack.
    After the ack it is not: Bolt calls the error handler with ``response=None``, then sets ``ack.response`` back to
    None (the dispatcher, not having seen the ack yet, answers Slack 404 after 3 s) or sets the status of the response
    the dispatcher already took to 500. Measured here: a listener raising 0 to 11 ms after ``ack()`` got a 404 or a 500
    for 589 of 600 requests. So nothing may leave a listener once it has acknowledged, and the guard must sit inside
    the listener call. Bolt's global and listener middleware cannot: they run on the dispatching thread before the
    listener, and their ``next()`` only marks that the chain goes on (a global middleware that installed an ``ack``
    ignoring the reset still saw 25 answers of 300 turn into 500s). Hence this class:

    * It is what ``handlers.register`` binds listeners on (``command``, ``action``, ``view``, ``event``, as on Bolt's
      ``App``); each listener is registered wrapped, so no listener opts in or catches anything.
    * Bolt injects the listener's arguments into the wrapper, which passes them on. A failure before the ack is left to
      Bolt, whose error handler is ``handle_error``; a failure after it is caught and handed to the same
      ``handle_error`` with ``response=None``.
    * ``handle_error`` is also the app's error handler for failures in global middleware.

    The answer goes out at the ack: the guard hands it to the request's ``bot.slack_dispatch.ON_ACK`` hook. An event
    is acknowledged before its listener runs.

    Work slots: after its ack (for an event, from the start), a listener waits for one of ``work_slots`` before going
    on, and gives it back when it returns. Acks never wait; a burst of clicks queues its
    work (the threads blocked, holding no lock) instead of starving the next requests' acks of the interpreter.

    Args:
        app: the Bolt app the listeners are registered on.
        work_slots: how many listeners may work after their ack at once.
    """

    def __init__(self, app: App, *, work_slots: int) -> None:
        self._app = app
        self._slots = threading.BoundedSemaphore(work_slots)

    # ----------------------------------------------------------------------------------- registration (handlers)

    def command(self, command: str, /) -> Callable[[handlers.Listener], object]:
        """Bind a slash command, guarded."""
        return self._guarded(self._app.command(command))

    def action(self, action_id: str, /) -> Callable[[handlers.Listener], object]:
        """Bind a button or select, guarded."""
        return self._guarded(self._app.action(action_id))

    def view(self, callback_id: str, /) -> Callable[[handlers.Listener], object]:
        """Bind a modal submission, guarded."""
        return self._guarded(self._app.view(callback_id))

    def event(self, event: str, /) -> Callable[[handlers.Listener], object]:
        """Bind an Events API event, guarded."""
        return self._guarded(self._app.event(event), acks_first=True)

    def _guarded(self, register: Callable[..., object], *,
                 acks_first: bool = False) -> Callable[[handlers.Listener], object]:
        def bind(listener: handlers.Listener) -> handlers.Listener:
            register(self._wrap(listener, acks_first=acks_first))
            return listener

        return bind

    # ------------------------------------------------------------------------------------------------ running

    def _wrap(self, listener: handlers.Listener, *, acks_first: bool) -> Callable[..., None]:
        """The listener as Bolt runs it: its arguments injected by name, answered at its ack (before it runs, with
        ``acks_first``), work slots taken, failures answered."""
        names = inspect.getfullargspec(inspect.unwrap(listener)).args
        keeps_request = "request" in names

        def guarded(**kwargs: Any) -> None:
            request: BoltRequest = kwargs["request"] if keeps_request else kwargs.pop("request")
            ack = _SlottedAck(request.context.ack, self._slots, on_ack=request.context.get(ON_ACK))
            if "ack" in kwargs:
                kwargs["ack"] = ack
            if acks_first:
                ack()
            try:
                listener(**kwargs)
            except Exception as error:
                if not ack.sent:
                    raise  # Bolt's own path answers in the ack, through handle_error
                self._answer_after_ack(error, request)
            finally:
                ack.release_slot()

        # Bolt injects the arguments a listener's signature names (the unwrapped function's, hence no functools.wraps):
        # the listener's own, and the request for the guard. Bolt builds them once, as for an unguarded listener.
        wanted = [*names, *([] if keeps_request else ["request"])]
        signature = inspect.Signature([inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD) for n in wanted])
        guarded.__signature__ = signature  # type: ignore[attr-defined]
        guarded.__name__ = guarded.__qualname__ = getattr(listener, "__name__", "listener")
        guarded.__doc__ = listener.__doc__
        return guarded

    def _answer_after_ack(self, error: Exception, request: BoltRequest) -> None:
        context = request.context
        try:
            self.handle_error(error=error, body=request.body, client=context.client, respond=context.respond,
                              response=None)
        except Exception:  # the user could not be told; Bolt must not see it either (see the class docstring)
            log.exception("could not tell the user that a Slack listener failed")

    def handle_error(self, error: Exception, body: dict[str, Any], client: WebClient, respond: Respond | None,
                     response: BoltResponse | None) -> BoltResponse | None:
        """Answer a failure to the acting user alone (Bolt's error handler, and the guard's after an ack).

        Args:
            error: what was raised.
            body: the request's payload.
            client: the Web API client.
            respond: the request's ``response_url`` sender, if it has one.
            response: the response still to send when the request is not acknowledged yet; None after the ack.

        Returns:
            The ack to send (before the ack), or None.
        """
        if isinstance(error, DatabaseUnavailableError):
            log.warning("Slack listener on a %s payload: the database is unavailable: %s",
                        body.get("type") or "command", error.cause)
            message = blocks.build_refusal(error)
        elif isinstance(error, DomainError):
            message = blocks.build_refusal(error)
        else:
            log.exception("Slack listener failed on a %s payload", body.get("type") or "command", exc_info=error)
            message = blocks.build_notice(SOMETHING_WENT_WRONG)
        if response is not None:
            answer = _answer_in_ack(error, body, message)
            if answer is not None:
                return BoltResponse(status=200, body=json.dumps(answer),
                                    headers={"content-type": "application/json;charset=utf-8"})
        reply_privately(body=body, client=client, respond=respond, message=message)
        return BoltResponse(status=200, body="") if response is not None else None


def _answer_in_ack(error: Exception, body: dict[str, Any], message: Message) -> dict[str, Any] | None:
    """What a slash command or a modal submission shows in its ack; None when the ack cannot carry an answer."""
    if "command" in body:
        return {"response_type": "ephemeral", **message}
    if body.get("type") != "view_submission":
        return None
    inputs = blocks.input_block_ids(body.get("view") or {})
    if isinstance(error, AlreadyDecidedError | InvalidStateError):  # decided (or ended) while the modal was open
        return {"response_action": "update", "view": blocks.build_notice_modal("Already decided", message["blocks"][0]
                                                                                ["text"]["text"])}
    if isinstance(error, DomainError) and inputs:
        if error.message in blocks.SLACK_WORDS:  # shown as Slack words it (plain text: no mention in it)
            error = DomainError(blocks.SLACK_WORDS[error.message])
        return {"response_action": "errors", "errors": block_errors(error, inputs)}
    text = message["blocks"][0]["text"]["text"]
    return {"response_action": "update", "view": blocks.build_notice_modal("Not done", text)}


class _SlottedAck:
    """The ``ack`` a guarded listener gets: Bolt's ack, sent at once through ``on_ack`` (when the request has the
    hook), then a wait for a work slot."""

    def __init__(self, ack: Ack, slots: threading.BoundedSemaphore,
                 on_ack: Callable[[BoltResponse], None] | None) -> None:
        self._ack = ack
        self._slots = slots
        self._on_ack = on_ack
        self._holding = False

    @property
    def response(self) -> BoltResponse | None:
        """The answer sent, once acknowledged."""
        return self._ack.response

    @property
    def sent(self) -> bool:
        """Whether the request has been acknowledged."""
        return self._ack.response is not None

    def __call__(self, *args: Any, **kwargs: Any) -> BoltResponse:
        answer = self._ack(*args, **kwargs)
        if self._on_ack is not None:
            self._on_ack(answer)
        self.take_slot()
        return answer

    def take_slot(self) -> None:
        if not self._holding:
            self._slots.acquire()
            self._holding = True

    def release_slot(self) -> None:
        if self._holding:
            self._holding = False
            self._slots.release()


def run_socket_mode(bolt_app: App, app_token: str) -> SocketModeRunner:
    """Connect the Bolt app over Socket Mode (``jobgate serve --socket-mode``) and return the runner.

    The connections run in the runner's own threads, overlapping across Slack's refreshes (``bot.socket_mode``);
    call ``runner.close()`` at shutdown.
    """
    web_client = WebClient(token=app_token, base_url=bolt_app.client.base_url,
                           retry_handlers=[ConnectionErrorRetryHandler(), RateLimitErrorRetryHandler()])
    runner = SocketModeRunner(bolt_app, web_client, workers=LISTENER_THREADS)
    runner.start()
    return runner
