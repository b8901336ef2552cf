"""The short-ID rule: at least 6 characters of an ID, unique among the candidates; the short form is 8."""

from __future__ import annotations

import pytest

from bot.domain.errors import NotFoundError
from bot.domain.short_ids import AmbiguousIdError, IdRef, InvalidIdError, parse_id_ref, resolve, short

ONE = "3f2c5a0e-1111-4111-8111-111111111111"
TWO = "3f2c5a0e-2222-4222-8222-222222222222"
THREE = "3f2c5a91-3333-4333-8333-333333333333"
CANDIDATES = [(ONE, "Nightly backup"), (TWO, "Core refresh"), (THREE, "Edge refresh")]


def test_the_short_form_is_the_first_eight_characters() -> None:
    assert short(ONE) == "3f2c5a0e"


@pytest.mark.parametrize(("typed", "expected"), [
    ("3f2c5a", IdRef("3f2c5a", full=False)),
    (" `3F2C5A0E` ", IdRef("3f2c5a0e", full=False)),
    ("3f2c5a0e-11…", IdRef("3f2c5a0e-11", full=False)),
    (ONE.upper(), IdRef(ONE, full=True)),
    (ONE.replace("-", ""), IdRef(ONE, full=True)),
])
def test_ids_and_prefixes_are_read_as_people_type_them(typed: str, expected: IdRef) -> None:
    assert parse_id_ref(typed) == expected


@pytest.mark.parametrize(("typed", "words"), [
    ("3f2c5", "too short"), ("", "not a scheduled job ID"), ("nightly", "not a scheduled job ID"),
    ("3f2c5a0e1", "not a scheduled job ID"), ("3f2c%a", "not a scheduled job ID"),
])
def test_a_short_or_malformed_id_is_refused(typed: str, words: str) -> None:
    with pytest.raises(InvalidIdError, match=words):
        parse_id_ref(typed)


def test_a_unique_prefix_resolves_and_an_ambiguous_one_lists_the_candidates_telling_them_apart() -> None:
    assert resolve(IdRef("3f2c5a9", full=False), CANDIDATES) == THREE
    assert resolve(IdRef(TWO, full=True), CANDIDATES) == TWO
    with pytest.raises(AmbiguousIdError) as ambiguous:
        resolve(IdRef("3f2c5a", full=False), CANDIDATES)
    assert ambiguous.value.candidates == [("3f2c5a0e-1", "Nightly backup"), ("3f2c5a0e-2", "Core refresh"),
                                          ("3f2c5a91", "Edge refresh")]
    assert ambiguous.value.message.startswith("`3f2c5a` starts the IDs of 3 scheduled jobs: `3f2c5a0e-1` (Nightly")
    with pytest.raises(NotFoundError, match="No scheduled job has an ID starting with `ffffff`"):
        resolve(IdRef("ffffff", full=False), CANDIDATES)
