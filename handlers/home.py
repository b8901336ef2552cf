"""The App Home tab, drawn from the listings: the user's requests, what waits for their approval, upcoming runs and
recent results.

Must not import SQLAlchemy or storage.
"""

from __future__ import annotations

from slack_sdk import WebClient

from bot.domain.permissions import Actor
from bot.services import Services
from handlers import blocks

HOME_LIMIT = 10
"""How many items each list of the Home tab shows."""


def publish_home(client: WebClient, services: Services, actor: Actor, *, notice: str | None = None) -> None:
    """Draw the actor's Home tab from the listings: their requests, what waits for their approval, upcoming runs and
    recent results; ``notice`` (mrkdwn, escaped) says what their last click did."""
    listings = services.listings
    now = services.clock()
    my_requests = listings.list_my_requests(actor, limit=HOME_LIMIT)
    client.views_publish(user_id=actor.user_id, view=blocks.build_home(
        my_requests=my_requests, menus=listings.menu_actions(actor, my_requests.items),
        to_approve=listings.list_to_approve(actor, limit=HOME_LIMIT, now=now),
        upcoming=listings.list_scheduled_jobs(actor, limit=HOME_LIMIT),
        results=listings.list_job_results(actor, limit=HOME_LIMIT),
        now=now, notice=notice))
