"""The Slack edge: one module per Slack surface, each with a ``register(app)`` that binds IDs to listeners.

A listener acks first (a view submission answers in its ack), parses with ``handlers.payloads``, makes one service
call, and renders with ``handlers.blocks``. Listeners receive ``services`` and ``directory`` (the cached Slack user
directory: user groups and time zones) by name from the middleware in ``bot/slack.py``. Refusals raise; the one error
handler there answers the user alone. Must not import SQLAlchemy or storage.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from slack_bolt import App


def register(app: App) -> None:
    """Register every jobgate listener on the Bolt app: commands, actions, views and events."""
    from handlers import actions, commands, events, views

    commands.register(app)
    actions.register(app)
    views.register(app)
    events.register(app)
