"""What the process tests of the executors read back: job results, runs asked for, and executions tallied."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from bot.app import Core
from tests.conftest import ALICE
from tests.test_serve import stored


def results(core: Core) -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in stored(core, "job_results")}


def tallied(path: Path) -> Counter[str]:
    """The executions ``crashjobs.TallyJob`` counted in ``path``, by job result id."""
    return Counter(path.read_text().split()) if path.exists() else Counter()


def run_now(core: Core, job: str, data: dict[str, object] | None = None) -> str:
    """Alice asks for ``job`` now; returns its job result id."""
    outcome = core.services.requests.request_job(actor=ALICE, job=job, data=data)
    assert outcome.job_result is not None
    return outcome.job_result.id
