"""The notifier: delivers outbox entries to Slack after the changes they report were committed.

- ``delivery``: the :class:`Notifier` itself: claiming entries, pacing (about one message per second per channel),
  pausing for a 429's ``Retry-After``, backoff, and recording what was sent.
- ``messages``: what each kind of entry sends, rendered from the database at delivery time.
- ``digests``: folding a backlog of finished runs for one channel into one message.
- ``slack_api``: the Web API calls, their failures sorted into rate limit, transient and permanent.

This is wiring: it may import anything.
"""

from __future__ import annotations

from bot.notifier.delivery import Notifier

__all__ = ["Notifier"]
