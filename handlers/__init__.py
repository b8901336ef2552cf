"""The Slack edge: one module per Slack surface, each with a ``register(app)`` that binds IDs to listeners.

A listener acks first (a view submission answers in its ack), parses with ``handlers.payloads``, makes one service
call, and renders with ``handlers.blocks``. Listeners receive ``services`` and ``directory`` (the cached Slack user
directory: user groups and time zones) by name from the middleware in ``bot/slack.py``. Refusals raise, before or
after the ack, and so does anything unexpected: ``bot.slack.ListenerGuard``, which every listener runs in, answers
the acting user alone. Listeners catch nothing themselves. Must not import SQLAlchemy or storage.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

Listener = Callable[..., None]
"""A Bolt listener: Bolt passes it the arguments it names (``ack``, ``body``, ``client``, ``services`` ...)."""


class Listeners(Protocol):
    """Where listeners are bound: Bolt's ``App`` itself, or the guarded registration ``bot.slack`` hands over."""

    def command(self, command: str, /) -> Callable[[Listener], object]:
        """Bind a slash command."""
        ...

    def action(self, action_id: str, /) -> Callable[[Listener], object]:
        """Bind a button or select by its ``action_id``."""
        ...

    def view(self, callback_id: str, /) -> Callable[[Listener], object]:
        """Bind a modal submission by its ``callback_id``."""
        ...

    def event(self, event: str, /) -> Callable[[Listener], object]:
        """Bind an Events API event type."""
        ...


def register(app: Listeners) -> None:
    """Register every jobgate listener: commands, actions, views and events."""
    from handlers import actions, commands, events, menus, views

    commands.register(app)
    actions.register(app)
    menus.register(app)
    views.register(app)
    events.register(app)
