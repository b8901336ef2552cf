"""Redrawing a surface after a click: the run modal (``views.update`` with the view's ``hash``), and the listing or
Home tab the click came from, so no button stays stale after it was used.

A stale ``hash`` means a newer update of the same modal won (a person typing faster than the round trip): that
update already shows the newer state, so nothing more is done. Must not import SQLAlchemy or storage.
"""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from handlers.blocks import View


def update_view(client: WebClient, view: dict[str, Any], new_view: View) -> None:
    """Replace a modal the user has open, unless a newer update of it already won (``hash_conflict``)."""
    try:
        client.views_update(view_id=view["id"], hash=view.get("hash"), view=new_view)
    except SlackApiError as error:
        if error.response.get("error") != "hash_conflict":
            raise
