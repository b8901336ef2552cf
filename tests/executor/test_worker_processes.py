"""The local executor's worker processes, as ``jobgate serve`` starts them: small, with only what running a job needs.

Each worker is forked from the fork server (which preloaded ``bot.executor.worker``) and imports the jobs once; it must
not carry the server's own libraries (SQLAlchemy and the database driver, Slack, the API's pydantic), which would cost
every worker tens of megabytes. Their resident memory is printed by ``bench/execution.py`` (memory), not asserted.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.conftest import FIXTURE_JOBS, POLICY_YAML
from tests.executor.runs import results, run_now
from tests.test_serve import Server, open_core, wait_for

SERVER_LIBRARIES = ("sqlalchemy", "psycopg", "slack_bolt", "slack_sdk", "fastapi", "pydantic_core", "uvicorn")


def loaded_libraries(pid: int) -> set[str]:
    """Which of the server's libraries the process ``pid`` has loaded (compiled parts mapped, or sources opened)."""
    maps = Path(f"/proc/{pid}/maps").read_text()
    return {name for name in SERVER_LIBRARIES if f"/site-packages/{name}/" in maps}


def test_jobgate_serve_workers_do_not_load_the_servers_libraries_and_still_run_jobs(tmp_path: Path) -> None:
    shutil.copytree(FIXTURE_JOBS, tmp_path / "jobs", ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "policy.yml").write_text(POLICY_YAML)
    url = f"sqlite:///{tmp_path / 'jobgate.db'}"
    core = open_core(url, tmp_path / "jobs")
    token = core.services.tokens.create_api_token(user_id="UADMIN", description="test")
    server = Server(tmp_path, {"JOBGATE_DATABASE_URL": url, "JOBGATE_WORKERS": "2"})
    try:
        wait_for(lambda: all(w["alive"] for w in server.health(token)["executor"]["local"]["workers"]), timeout=30,
                 what="the workers to start")
        pids = [w["pid"] for w in server.health(token)["executor"]["local"]["workers"]]
        assert loaded_libraries(server.process.pid) >= {"sqlalchemy", "pydantic_core"}  # the server has them
        assert {pid: loaded_libraries(pid) for pid in pids} == {pid: set() for pid in pids}
        ran = [run_now(core, "testjobs.TestPass") for _ in range(4)]
        wait_for(lambda: all(results(core)[i]["status"] == "completed" for i in ran), timeout=20, what="the jobs")
        # The same workers ran them: jobs are imported once per worker, not per run.
        assert [w["pid"] for w in server.health(token)["executor"]["local"]["workers"]] == pids
    finally:
        assert server.terminate() == 0
