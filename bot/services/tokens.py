"""REST API tokens: create one for a Slack user, list and revoke them, and find whose a token is (recording its last
use at most once a minute). Only a hash is stored. A token found in the database is relied on for
``bot.domain.tokens.VERIFIED_FOR`` without reading it again (its expiry is still checked on every use).

Must not import Slack or handlers.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import replace
from datetime import datetime

from bot.domain import tokens as rules
from bot.domain.audit import AuditAction, AuditEvent
from bot.domain.errors import FieldErrors, NotFoundError, PermissionDeniedError
from bot.domain.permissions import Actor
from bot.domain.records import ObjectType
from bot.domain.tokens import ApiTokenRecord
from bot.services.deps import ServiceDeps
from storage.repositories import Repositories

USER_ID_PATTERN = re.compile(r"^[UW][A-Z0-9]{2,}$")
INVALID_TOKEN = "Invalid token."


def hash_token(token: str) -> str:
    """The stored form of an API token."""
    return hashlib.sha256(token.encode()).hexdigest()


class AmbiguousPrefixError(FieldErrors):
    """A prefix that names more than one token."""


class Tokens:
    """REST API tokens.

    Args:
        deps: the database and clock.
    """

    def __init__(self, deps: ServiceDeps) -> None:
        self._deps = deps
        # Tokens found in the database, by hash: the record and when it was read. Only usable tokens are kept, so it
        # holds at most the tokens that exist; a revocation through this process removes them at once.
        self._verified: dict[str, tuple[ApiTokenRecord, datetime]] = {}

    def create_api_token(self, *, user_id: str, description: str = "", expires_days: int | None = None,
                         now: datetime | None = None) -> str:
        """Create a REST API token for a Slack user and return it; only its SHA-256 hash is stored.

        Args:
            user_id: the Slack user the token acts as.
            description: what the token is for.
            expires_days: days until it expires; None for a token that does not expire.
            now: the current instant.

        Raises:
            FieldErrors: a user ID that is not a Slack user ID, or a number of days out of range.
        """
        if not USER_ID_PATTERN.fullmatch(user_id):
            raise FieldErrors({"user": [f"{user_id!r} is not a Slack user ID; expected e.g. U0123ABCD."]})
        now = now or self._deps.clock()
        expires_at = rules.expiry(expires_days, now=now)
        token = secrets.token_hex(20)
        prefix = token[:rules.PREFIX_LENGTH]
        with self._deps.db.write() as session:
            repos = Repositories(session)
            token_id = repos.tokens.add(key_hash=hash_token(token), key_prefix=prefix, user_id=user_id,
                                        description=description, now=now, expires_at=expires_at)
            repos.audit.add(AuditEvent(actor_id=None, action=AuditAction.API_TOKEN_CREATE,
                                       object_type=ObjectType.API_TOKEN, object_id=token_id,
                                       detail={"user_id": user_id, "prefix": prefix}), now=now)
        return token

    def list_tokens(self, *, user_id: str | None = None) -> list[ApiTokenRecord]:
        """Every token (of one user, if given), revoked and expired ones included, oldest first."""
        with self._deps.db.read() as session:
            return Repositories(session).tokens.all(user_id=user_id)

    def revoke_token(self, prefix: str, *, now: datetime | None = None) -> ApiTokenRecord:
        """End the token whose prefix starts with ``prefix`` at once; returns it as it was.

        Raises:
            NotFoundError: no token has this prefix.
            AmbiguousPrefixError: several tokens do (the message lists them).
            FieldErrors: the prefix is empty.
        """
        prefix = prefix.strip()
        if not prefix:
            raise FieldErrors({"prefix": ["the prefix is empty; 'jobgate token list' shows each token's prefix"]})
        now = now or self._deps.clock()
        with self._deps.db.write() as session:
            repos = Repositories(session)
            found = repos.tokens.with_prefix(prefix[:rules.PREFIX_LENGTH])
            found = [token for token in found if prefix.startswith(token.prefix) or token.prefix.startswith(prefix)]
            if not found:
                raise NotFoundError(f"no token has the prefix {prefix!r}; 'jobgate token list' shows the tokens")
            if len(found) > 1:
                names = ", ".join(f"{t.prefix} ({t.user_id})" for t in found)
                raise AmbiguousPrefixError({"prefix": [f"{prefix!r} matches {len(found)} tokens: {names}"]},
                                           message=f"the prefix {prefix!r} matches {len(found)} tokens ({names}); "
                                                   f"give more of it")
            [token] = found
            if repos.tokens.revoke(token.id, now=now):
                repos.audit.add(AuditEvent(actor_id=None, action=AuditAction.API_TOKEN_REVOKE,
                                           object_type=ObjectType.API_TOKEN, object_id=token.id,
                                           detail={"user_id": token.user_id, "prefix": token.prefix}), now=now)
        self._forget(token.id)  # once committed: a request from now on reads it revoked
        return token

    def authenticate(self, token: str, *, now: datetime | None = None) -> Actor:
        """The actor a REST API token belongs to; records its use (at most once a minute per token).

        Raises:
            PermissionDeniedError: the token is unknown (``Invalid token.``), revoked or expired (saying which).
        """
        now = now or self._deps.clock()
        key_hash = hash_token(token)
        cached = self._verified.get(key_hash)
        if cached is not None and rules.still_verified(cached[1], now=now):
            record, verified_at = cached
        else:
            with self._deps.db.read() as session:
                found = Repositories(session).tokens.by_hash(key_hash)
            if found is None:
                self._verified.pop(key_hash, None)
                raise PermissionDeniedError(INVALID_TOKEN)
            record, verified_at = found, now
        try:
            rules.check_usable(record, now=now)
        except PermissionDeniedError:
            self._verified.pop(key_hash, None)
            raise
        if rules.needs_touch(record, now=now):
            with self._deps.db.write() as session:
                Repositories(session).tokens.touch(record.id, now=now, not_since=now - rules.TOUCH_EVERY)
            record = replace(record, last_used_at=now)
        self._verified[key_hash] = (record, verified_at)
        return Actor(user_id=record.user_id)

    def _forget(self, token_id: str) -> None:
        """Stop relying on what was read of a token (it is being revoked)."""
        for key_hash, (record, _) in list(self._verified.items()):
            if record.id == token_id:
                self._verified.pop(key_hash, None)

    def authenticate_token(self, token: str, *, now: datetime | None = None) -> Actor | None:
        """The actor a REST API token belongs to, or None when it is unknown, expired or revoked."""
        try:
            return self.authenticate(token, now=now)
        except PermissionDeniedError:
            return None

    def is_admin_token(self, token: str, *, now: datetime | None = None) -> bool:
        """Whether the token is valid and belongs to an admin of the permissions file."""
        actor = self.authenticate_token(token, now=now)
        return actor is not None and self._deps.policy.is_admin(actor)
