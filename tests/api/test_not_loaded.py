"""A job another process found and enabled, which this server has not loaded, is refused saying exactly that."""

from __future__ import annotations

from pathlib import Path

from bot.app import build_core
from bot.config import Settings
from bot.domain.permissions import Policy
from storage.db import Database
from tests.api.conftest import Api
from tests.conftest import ALICE

ELSEWHERE = '''
from bot.jobs import Job


class OnlyElsewhere(Job):
    class Meta:
        has_sensitive_variables = False

    def run(self, data, commit):
        pass
'''


def test_running_a_job_this_server_has_not_loaded_says_so(api: Api, database: Database, policy: Policy,
                                                          tmp_path: Path, database_url: str) -> None:
    other_jobs = tmp_path / "other-jobs"
    other_jobs.mkdir()
    (other_jobs / "elsewhere.py").write_text(ELSEWHERE)
    other = build_core(Settings(database_url=database_url, jobs_paths=(other_jobs,)), db=database, policy=policy,
                       migrate=False)
    other.services.management.sync_jobs()
    other.services.management.set_job_enabled("elsewhere.OnlyElsewhere", True)

    answer = api.post("/api/extras/jobs/elsewhere.OnlyElsewhere/run/", ALICE, json={"data": {}})
    assert answer.status_code == 405, answer.text
    detail = answer.json()["detail"]
    assert detail.startswith("This job is not loaded by this server and cannot be run")
    assert "could not be located" not in detail
