"""TokenRepository on real databases: a token is found by its hash, listed, revoked, and its use recorded."""

from __future__ import annotations

from datetime import timedelta

from storage.db import Database, read_tables
from tests.storage.conftest import NOW, read, write


def test_a_token_is_stored_by_its_hash_and_found_by_it(database: Database) -> None:
    with write(database) as repos:
        token_id = repos.tokens.add(key_hash="a" * 64, key_prefix="aaaaaaaa", user_id="UALICE", description="ci",
                                    now=NOW)
    [stored] = read_tables(database.engine, "api_tokens")["api_tokens"]
    assert (stored["id"], stored["key_prefix"], stored["user_id"], stored["description"], stored["created_at"]) == (
        token_id, "aaaaaaaa", "UALICE", "ci", NOW)
    with read(database) as repos:
        found = repos.tokens.by_hash("a" * 64)
        assert found is not None and (found.id, found.prefix, found.user_id) == (token_id, "aaaaaaaa", "UALICE")
        assert repos.tokens.by_hash("b" * 64) is None


def test_revoke_and_touch_change_only_their_token(database: Database) -> None:
    with write(database) as repos:
        one = repos.tokens.add(key_hash="e" * 64, key_prefix="e" * 8, user_id="UALICE", description="", now=NOW,
                               expires_at=NOW + timedelta(days=1))
        other = repos.tokens.add(key_hash="r" * 64, key_prefix="r" * 8, user_id="UBOB", description="", now=NOW)
    with write(database) as repos:
        assert repos.tokens.revoke(one, now=NOW) is True
        assert repos.tokens.revoke(one, now=NOW + timedelta(hours=1)) is False  # already revoked: kept as it was
        repos.tokens.touch(other, now=NOW, not_since=NOW - timedelta(minutes=1))
        repos.tokens.touch(other, now=NOW + timedelta(seconds=30), not_since=NOW - timedelta(seconds=30))
    with read(database) as repos:
        by_id = {t.id: t for t in repos.tokens.all()}
        assert [t.id for t in repos.tokens.all(user_id="UBOB")] == [other]
        assert [t.id for t in repos.tokens.with_prefix("eee")] == [one]
    assert (by_id[one].revoked_at, by_id[one].expires_at, by_id[one].last_used_at) == (
        NOW, NOW + timedelta(days=1), None)
    assert (by_id[other].revoked_at, by_id[other].last_used_at) == (None, NOW)
