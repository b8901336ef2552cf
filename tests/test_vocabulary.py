"""One vocabulary: the words the README's glossary retired stay out of jobgate's code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
PRODUCT = ("bot", "handlers", "storage")

RETIRED = {
    r"\bstart_at\b": "a schedule's first due instant is start_time",
    r"\bis_active\b": "a scheduled job that is still active is enabled",
    r"\bowner_id\b": "the person a scheduled job or job result belongs to is user_id",
    r"\bTransientData\b": "sensitive data waits in the SensitiveHandover",
    r"\bfail_owned\b|\bowners_of_unfinished\b": "the process holding a claim is its runner_id",
    r"(?<![\w.])owner=": "the process holding a claim is its runner_id",
}


def product_sources() -> list[Path]:
    return [p for top in PRODUCT for p in sorted((ROOT / top).rglob("*.py")) if "migrations" not in p.parts]


@pytest.mark.parametrize("pattern", sorted(RETIRED))
def test_a_retired_word_is_not_used(pattern: str) -> None:
    offences = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in product_sources()
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(pattern, line)
    ]
    assert offences == [], RETIRED[pattern]


def test_the_glossary_names_every_retired_word() -> None:
    readme = (ROOT / "README.md").read_text()
    for word in ("start_at", "is_active", "owner_id", "`owner`"):
        assert word in readme.split("### Glossary", 1)[1]
