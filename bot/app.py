"""Wiring: settings in, a ready ``Services`` (and, with the server, the ASGI app) out.

This module may import anything; it is where the parts meet.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from bot.config import Settings
from bot.domain.permissions import Policy
from bot.services import JobCatalog, Services, utcnow
from storage.db import Database, upgrade


def load_policy(settings: Settings) -> Policy:
    """The permissions policy named by the settings; an empty one when there is no file.

    Raises:
        PolicyError: the file is malformed (the message names the entry).
    """
    return Policy.load(settings.policy_file) if settings.policy_file else Policy.empty()


def build_services(
    settings: Settings,
    *,
    db: Database | None = None,
    clock: Callable[[], datetime] = utcnow,
    migrate: bool = True,
) -> Services:
    """Open the database, apply pending migrations, load the policy and discover jobs.

    Args:
        settings: jobgate's settings.
        db: an already opened database (tests share one); opened from ``settings.database_url`` otherwise.
        clock: where ``now`` comes from.
        migrate: apply pending migrations first.
    """
    policy = load_policy(settings)
    db = db or Database.from_url(settings.database_url)
    if migrate:
        upgrade(db.engine)
    services = Services(db=db, settings=settings, policy=policy, catalog=JobCatalog(), clock=clock)
    return services
