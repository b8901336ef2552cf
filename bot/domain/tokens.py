"""REST API tokens: when a token may be used, how long one lives, and how often its last use is recorded.

Pure: must not import Slack, SQLAlchemy or storage.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain.errors import FieldErrors, PermissionDeniedError

__all__ = [
    "MAX_EXPIRES_DAYS",
    "PREFIX_LENGTH",
    "TOUCH_EVERY",
    "VERIFIED_FOR",
    "ApiTokenRecord",
    "check_usable",
    "expiry",
    "needs_touch",
    "still_verified",
]

PREFIX_LENGTH = 8
"""Characters of a token kept in clear, to name it in listings and revoke it."""
TOUCH_EVERY = timedelta(minutes=1)
"""A token's last use is recorded at most this often (not one write per request)."""
MAX_EXPIRES_DAYS = 3650
VERIFIED_FOR = timedelta(seconds=5)
"""How long a server relies on a token it found in the database without reading it again. Its expiry is checked on
every request all the same; a revocation made through another process (``jobgate token revoke``, another replica)
takes effect within this time, one made through this process at once."""


@dataclass(frozen=True, kw_only=True)
class ApiTokenRecord:
    """A REST API token as stored (never the token itself: its prefix names it)."""

    id: str
    prefix: str
    user_id: str
    description: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


def expiry(days: int | None, *, now: datetime) -> datetime | None:
    """When a token created ``now`` to live ``days`` days expires; None for a token that does not expire.

    Raises:
        FieldErrors: ``days`` is not a whole number of days from 1 to ``MAX_EXPIRES_DAYS``.
    """
    if days is None:
        return None
    if not 1 <= days <= MAX_EXPIRES_DAYS:
        raise FieldErrors({"expires": [f"{days} is not a number of days; expected 1 to {MAX_EXPIRES_DAYS}"]},
                          message=f"--expires: {days} is not a number of days; expected 1 to {MAX_EXPIRES_DAYS}")
    return now + timedelta(days=days)


def check_usable(token: ApiTokenRecord, *, now: datetime) -> None:
    """Refuse a revoked or expired token.

    Raises:
        PermissionDeniedError: the token was revoked, or has expired (the message says which, and when).
    """
    if token.revoked_at is not None and token.revoked_at <= now:
        raise PermissionDeniedError(f"Token revoked on {_day(token.revoked_at)}.")
    if token.expires_at is not None and token.expires_at <= now:
        raise PermissionDeniedError(f"Token expired on {_day(token.expires_at)}.")


def needs_touch(token: ApiTokenRecord, *, now: datetime) -> bool:
    """Whether using the token ``now`` should record it as its last use (at most once per ``TOUCH_EVERY``)."""
    return token.last_used_at is None or now - token.last_used_at >= TOUCH_EVERY


def still_verified(verified_at: datetime, *, now: datetime) -> bool:
    """Whether a token read from the database at ``verified_at`` may be used ``now`` without reading it again."""
    return verified_at <= now < verified_at + VERIFIED_FOR


def _day(when: datetime) -> str:
    return when.strftime("%Y-%m-%d %H:%M UTC")
