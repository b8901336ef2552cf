"""REST API tokens: only their SHA-256 hash is stored.

Must not import Slack or handlers.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from bot.domain.tokens import ApiTokenRecord
from storage.models import ApiTokenRow
from storage.repositories._records import new_id


class TokenRepository:
    """The api_tokens table."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, *, key_hash: str, key_prefix: str, user_id: str, description: str, now: datetime,
            expires_at: datetime | None = None) -> str:
        """Store a new token by its hash; returns the token's id."""
        token_id = new_id()
        self.session.add(ApiTokenRow(id=token_id, key_hash=key_hash, key_prefix=key_prefix, user_id=user_id,
                                     description=description, created_at=now, expires_at=expires_at))
        return token_id

    def by_hash(self, key_hash: str) -> ApiTokenRecord | None:
        """The token with this hash, whatever its state."""
        row = self.session.scalars(select(ApiTokenRow).where(ApiTokenRow.key_hash == key_hash)).first()
        return _record(row) if row is not None else None

    def all(self, *, user_id: str | None = None) -> list[ApiTokenRecord]:
        """Every token (of one user, if given), oldest first."""
        query = select(ApiTokenRow).order_by(ApiTokenRow.created_at, ApiTokenRow.key_prefix)
        if user_id is not None:
            query = query.where(ApiTokenRow.user_id == user_id)
        return [_record(row) for row in self.session.scalars(query)]

    def with_prefix(self, prefix: str) -> list[ApiTokenRecord]:
        """The tokens whose prefix starts with ``prefix``."""
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = select(ApiTokenRow).where(ApiTokenRow.key_prefix.like(f"{escaped}%", escape="\\"))
        return [_record(row) for row in self.session.scalars(query)]

    def revoke(self, token_id: str, *, now: datetime) -> bool:
        """End a token now; False when it was already revoked."""
        result = self.session.execute(update(ApiTokenRow).where(ApiTokenRow.id == token_id,
                                                                ApiTokenRow.revoked_at.is_(None))
                                      .values(revoked_at=now))
        return bool(getattr(result, "rowcount", 0))

    def touch(self, token_id: str, *, now: datetime, not_since: datetime) -> None:
        """Record ``now`` as the token's last use, unless a use after ``not_since`` is already recorded."""
        self.session.execute(update(ApiTokenRow).where(
            ApiTokenRow.id == token_id,
            or_(ApiTokenRow.last_used_at.is_(None), ApiTokenRow.last_used_at <= not_since),
        ).values(last_used_at=now))


def _record(row: ApiTokenRow) -> ApiTokenRecord:
    return ApiTokenRecord(id=row.id, prefix=row.key_prefix, user_id=row.user_id, description=row.description or "",
                          created_at=row.created_at, expires_at=row.expires_at, last_used_at=row.last_used_at,
                          revoked_at=row.revoked_at)
