"""REST API tokens: only their SHA-256 hash is stored.

Must not import Slack or handlers.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import ApiTokenRow
from storage.repositories._records import new_id


class TokenRepository:
    """The api_tokens table."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, *, key_hash: str, key_prefix: str, user_id: str, description: str, now: datetime) -> str:
        """Store a new token by its hash; returns the token's id."""
        token_id = new_id()
        self.session.add(ApiTokenRow(id=token_id, key_hash=key_hash, key_prefix=key_prefix, user_id=user_id,
                                     description=description, created_at=now))
        return token_id

    def user_for_hash(self, key_hash: str, *, now: datetime) -> str | None:
        """The Slack user ID a token hash belongs to, if the token is valid now (not expired, not revoked)."""
        row = self.session.scalars(select(ApiTokenRow).where(ApiTokenRow.key_hash == key_hash)).first()
        if row is None or row.revoked_at is not None or (row.expires_at is not None and row.expires_at <= now):
            return None
        return row.user_id
