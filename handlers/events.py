"""Events API listeners: ``app_home_opened`` draws the Home tab.

Events are acknowledged by Bolt before the listener runs. Must not import SQLAlchemy or storage.
"""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient

from bot.services import Services
from handlers import Listeners
from handlers.actions import Directory
from handlers.home import publish_home


def register(app: Listeners) -> None:
    """Bind the events."""
    app.event("app_home_opened")(handle_app_home_opened)


def handle_app_home_opened(event: dict[str, Any], client: WebClient, services: Services,
                           directory: Directory) -> None:
    """Publish the Home tab: my requests, approvals waiting for me (with buttons), upcoming runs, recent results."""
    if event.get("tab", "home") != "home":
        return
    user_id = str(event["user"])
    publish_home(client, services, directory.actor(user_id))

