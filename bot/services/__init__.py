"""The use cases, one module per concern: requests, decisions, management, listings, tokens.

Slack, the REST API and the CLI call these, so they can never disagree. Each use case is one transaction: it asks the
domain for the decision, changes rows through the repositories, writes the audit event and the outbox entries its
change implies, and commits. Nothing is sent to Slack here; the notifier delivers the outbox afterwards. Each group
takes the same small ``ServiceDeps``; ``Services`` gathers the groups for the edges.
Must not import Slack or handlers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bot.services.deadlines import Deadlines
from bot.services.decisions import Decisions
from bot.services.deps import PolicyHolder, ServiceDeps, utcnow
from bot.services.listings import Listings
from bot.services.management import Management, SyncOutcome
from bot.services.requests import RequestOutcome, Requests, ScheduleInput
from bot.services.tokens import Tokens, hash_token

__all__ = [
    "Deadlines",
    "Decisions",
    "Listings",
    "Management",
    "PolicyHolder",
    "RequestOutcome",
    "Requests",
    "ScheduleInput",
    "ServiceDeps",
    "Services",
    "SyncOutcome",
    "Tokens",
    "hash_token",
    "utcnow",
]


@dataclass(frozen=True)
class Services:
    """Every use case, by concern, as the edges (Slack listeners, API routes, the CLI) receive them.

    Attributes:
        requests: run requests.
        decisions: approve, deny, dry-run.
        management: cancel, pause, resume; enable, disable and sync jobs.
        listings: what an actor may see.
        tokens: REST API tokens.
        deadlines: expiry, reminders and escalation of pending requests (the approval loop).
        clock: the current instant, for rendering.
    """

    requests: Requests
    decisions: Decisions
    management: Management
    listings: Listings
    tokens: Tokens
    clock: Callable[[], datetime]
    deadlines: Deadlines

    @classmethod
    def over(cls, deps: ServiceDeps) -> Services:
        """The use cases over one set of dependencies."""
        return cls(
            requests=Requests(deps),
            decisions=Decisions(deps),
            management=Management(deps),
            listings=Listings(deps),
            tokens=Tokens(deps),
            clock=deps.clock,
            deadlines=Deadlines(deps),
        )
