"""A person (or their script) may have at most ``JOBGATE_MAX_PENDING_PER_USER`` requests waiting for approval: the
next one is refused with 429, ``Retry-After`` and a ``detail`` saying what to do; withdrawing one makes room."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import Settings
from tests.api.conftest import Api
from tests.conftest import ALICE, BOB

LIMIT = 3


@pytest.fixture
def settings(jobs_dir: Path, database_url: str) -> Settings:
    return Settings(database_url=database_url, jobs_paths=(jobs_dir,), time_zone="UTC", max_pending_per_user=LIMIT)


def ask(api: Api, user: object, job: str = "testjobs.ApprovalJob") -> tuple[int, dict[str, object], str | None]:
    response = api.post(f"/api/extras/jobs/{job}/run/", user, json={"data": {}})  # type: ignore[arg-type]
    return response.status_code, response.json(), response.headers.get("retry-after")


def test_the_request_past_the_limit_is_429_and_withdrawing_one_makes_room(api: Api) -> None:
    created = []
    for _ in range(LIMIT):
        status, body, _ = ask(api, ALICE)
        assert status == 201, body
        created.append(body["schedule"]["id"])  # type: ignore[index]
    status, body, retry_after = ask(api, ALICE)
    assert status == 429
    assert body == {"detail": f"You have {LIMIT} requests waiting for approval (at most {LIMIT} per person); "
                              "withdraw one or wait for a decision."}
    assert retry_after is not None and int(retry_after) > 0
    pending = api.get("/api/extras/scheduled-jobs/?approval_state=pending", ALICE).json()
    assert pending["count"] == LIMIT
    # Others are not held up, and runs that need no approval still go through.
    assert ask(api, BOB)[0] == 201
    assert ask(api, ALICE, "testjobs.TestPass")[0] == 201
    withdrawn = api.post(f"/api/extras/scheduled-jobs/{created[0]}/deny/", ALICE, json={})
    assert withdrawn.status_code == 200
    assert ask(api, ALICE)[0] == 201
