"""REST API tokens: create one for a Slack user, and find whose a token is. Only a hash is stored.

Must not import Slack or handlers.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime

from bot.domain.audit import AuditAction, AuditEvent
from bot.domain.errors import FieldErrors
from bot.domain.permissions import Actor
from bot.domain.records import ObjectType
from bot.services.deps import ServiceDeps
from storage.repositories import Repositories

USER_ID_PATTERN = re.compile(r"^[UW][A-Z0-9]{2,}$")


def hash_token(token: str) -> str:
    """The stored form of an API token."""
    return hashlib.sha256(token.encode()).hexdigest()


class Tokens:
    """REST API tokens.

    Args:
        deps: the database and clock.
    """

    def __init__(self, deps: ServiceDeps) -> None:
        self._deps = deps

    def create_api_token(self, *, user_id: str, description: str = "", now: datetime | None = None) -> str:
        """Create a REST API token for a Slack user and return it; only its SHA-256 hash is stored."""
        if not USER_ID_PATTERN.fullmatch(user_id):
            raise FieldErrors({"user": [f"{user_id!r} is not a Slack user ID; expected e.g. U0123ABCD."]})
        now = now or self._deps.clock()
        token = secrets.token_hex(20)
        with self._deps.db.write() as session:
            repos = Repositories(session)
            token_id = repos.tokens.add(key_hash=hash_token(token), key_prefix=token[:8], user_id=user_id,
                                        description=description, now=now)
            repos.audit.add(AuditEvent(actor_id=None, action=AuditAction.API_TOKEN_CREATE,
                                       object_type=ObjectType.API_TOKEN, object_id=token_id,
                                       detail={"user_id": user_id, "prefix": token[:8]}), now=now)
        return token

    def authenticate_token(self, token: str, *, now: datetime | None = None) -> Actor | None:
        """The actor a REST API token belongs to, or None when it is unknown, expired or revoked."""
        now = now or self._deps.clock()
        with self._deps.db.read() as session:
            user_id = Repositories(session).tokens.user_for_hash(hash_token(token), now=now)
        return Actor(user_id=user_id) if user_id else None
