"""TokenRepository on real databases: a token is found by its hash while it is valid."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from storage.db import Database, read_tables
from storage.models import ApiTokenRow
from tests.storage.conftest import NOW, read, write


def test_a_token_is_stored_by_its_hash_and_found_by_it(database: Database) -> None:
    with write(database) as repos:
        token_id = repos.tokens.add(key_hash="a" * 64, key_prefix="aaaaaaaa", user_id="UALICE", description="ci",
                                    now=NOW)
    [stored] = read_tables(database.engine, "api_tokens")["api_tokens"]
    assert (stored["id"], stored["key_prefix"], stored["user_id"], stored["description"], stored["created_at"]) == (
        token_id, "aaaaaaaa", "UALICE", "ci", NOW)
    with read(database) as repos:
        assert repos.tokens.user_for_hash("a" * 64, now=NOW) == "UALICE"
        assert repos.tokens.user_for_hash("b" * 64, now=NOW) is None


def test_an_expired_or_revoked_token_is_refused(database: Database) -> None:
    with write(database) as repos:
        expiring = repos.tokens.add(key_hash="e" * 64, key_prefix="e" * 8, user_id="UALICE", description="", now=NOW)
        revoked = repos.tokens.add(key_hash="r" * 64, key_prefix="r" * 8, user_id="UBOB", description="", now=NOW)
    with database.write() as session:  # nothing sets these yet; the next feature will
        session.execute(update(ApiTokenRow).where(ApiTokenRow.id == expiring)
                        .values(expires_at=NOW + timedelta(days=1)))
        session.execute(update(ApiTokenRow).where(ApiTokenRow.id == revoked).values(revoked_at=NOW))
    with read(database) as repos:
        assert repos.tokens.user_for_hash("e" * 64, now=NOW + timedelta(hours=23)) == "UALICE"
        assert repos.tokens.user_for_hash("e" * 64, now=NOW + timedelta(days=1)) is None
        assert repos.tokens.user_for_hash("r" * 64, now=NOW) is None
