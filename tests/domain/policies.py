"""Policies for the domain tests, built in code: one user granted exactly the permissions a test names."""

from __future__ import annotations

from collections.abc import Iterable

from bot.domain.permissions import Perm, Policy, PolicyEntry

CALLER_ID = "U0CALLER"
"""The user a policy grants to, unless the test names another."""

Grant = Perm | tuple[Perm, tuple[str, ...]]
"""A permission, or a permission constrained to job globs: ``(perm, ("test-pass",))``."""


def policy_with(*grants: Grant, user: str = CALLER_ID, admins: Iterable[str] = ()) -> Policy:
    """A policy granting ``user`` each permission, optionally constrained to job globs: ``(perm, ("test-pass",))``."""
    entries = []
    for grant in grants:
        perm, jobs = grant if isinstance(grant, tuple) else (grant, ())
        entries.append(
            PolicyEntry(
                name=str(perm),
                actions=frozenset({perm.action}),
                object_types=frozenset({perm.object_type}),
                user_ids=frozenset({user}),
                jobs=jobs,
            )
        )
    return Policy(admins=admins, entries=entries)
