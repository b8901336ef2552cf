"""Short IDs: where a person types an ID, a unique prefix of at least ``MIN_PREFIX`` characters will do, and where
jobgate shows an ID to a person it shows the first ``SHORT_LENGTH`` characters.

The REST API stays strict (full UUIDs in its paths, as in Nautobot): scripts keep the IDs they are given.
Pure: no Slack, no SQL.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from bot.domain.errors import DomainError, NotFoundError

MIN_PREFIX = 6
"""The fewest characters of an ID a person may type."""
SHORT_LENGTH = 8
"""How many characters of an ID are shown: the first group of a UUID."""
MAX_CANDIDATES = 5
"""The most candidates an ambiguous prefix is answered with."""
_PREFIX = re.compile(r"[0-9a-f]{1,8}(-[0-9a-f]{0,4}){0,3}(-[0-9a-f]{0,12})?")


def short(full_id: str) -> str:
    """The short form of an ID, as messages show it."""
    return full_id[:SHORT_LENGTH]


class InvalidIdError(DomainError):
    """What was typed cannot be (the start of) an ID."""


class AmbiguousIdError(DomainError):
    """A prefix that starts more than one ID; the message lists the candidates (short form and name).

    Attributes:
        candidates: the candidates shown, as (short form, name).
    """

    def __init__(self, message: str, candidates: Sequence[tuple[str, str]]) -> None:
        super().__init__(message)
        self.candidates = list(candidates)


@dataclass(frozen=True)
class IdRef:
    """An ID as typed, normalised: the full ID (``full``) or a prefix of one."""

    text: str
    full: bool


def parse_id_ref(typed: str, *, what: str = "scheduled job", where: str = "`/jobs scheduled` and `/jobs queue`") \
        -> IdRef:
    """Read an ID or a prefix of one as a person typed it (backticks, case and a trailing ``…`` are forgiven).

    Args:
        typed: the text.
        what: what the ID names, for messages.
        where: where the person finds the IDs, for messages.

    Raises:
        InvalidIdError: not hexadecimal digits in a UUID's shape, or fewer than ``MIN_PREFIX`` of them.
    """
    candidate = typed.strip().strip("`").rstrip("…").rstrip(".").strip().lower()
    shown = candidate if len(candidate) <= 40 else candidate[:40] + "…"
    try:
        return IdRef(str(uuid.UUID(candidate)), full=True) if len(candidate) >= 32 else _prefix(candidate, shown,
                                                                                                  what, where)
    except ValueError:
        raise InvalidIdError(f"`{shown}` is not a {what} ID. IDs look like `3f2c5a0e`; {where} show them.") from None


def _prefix(candidate: str, shown: str, what: str, where: str) -> IdRef:
    if not _PREFIX.fullmatch(candidate):
        raise ValueError(candidate)
    if len(candidate) < MIN_PREFIX:
        raise InvalidIdError(f"`{shown}` is too short to name a {what}: type at least {MIN_PREFIX} characters of its "
                             f"ID (e.g. `3f2c5a`); {where} show them.")
    return IdRef(candidate, full=False)


def resolve(ref: IdRef, candidates: Sequence[tuple[str, str]], *, what: str = "scheduled job") -> str:
    """The one ID ``ref`` names among ``candidates`` (ID, name), the IDs starting with it that the person may see.

    Raises:
        NotFoundError: none.
        AmbiguousIdError: more than one; the message lists them (short form and name) and asks for more characters.
    """
    matching = [(full_id, name) for full_id, name in candidates if full_id.startswith(ref.text)]
    if ref.full:
        matching = [(full_id, name) for full_id, name in matching if full_id == ref.text]
    if not matching:
        raise NotFoundError(f"No {what} has an ID starting with `{ref.text}`.")
    if len(matching) == 1:
        return matching[0][0]
    shown = [(_distinct(full_id, ref.text, [m for m, _ in matching]), name) for full_id, name in matching]
    listed = ", ".join(f"`{code}` ({name})" for code, name in shown[:MAX_CANDIDATES])
    more = f" and {len(shown) - MAX_CANDIDATES} more" if len(shown) > MAX_CANDIDATES else ""
    raise AmbiguousIdError(f"`{ref.text}` starts the IDs of {len(shown)} {what}s: {listed}{more}. "
                           "Type more characters of the one you mean.", shown[:MAX_CANDIDATES])


def _distinct(full_id: str, typed: str, others: Sequence[str]) -> str:
    """The short form, or as much more as tells this ID from the others that start the same way."""
    length = max(SHORT_LENGTH, len(typed))
    while length < len(full_id) and any(o != full_id and o.startswith(full_id[:length]) for o in others):
        length += 1
    return full_id[:length]
