"""A running ``jobgate serve`` loads new and changed job modules without a restart, and a module that stops importing
keeps its last good version (reported in /healthz and the log)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx

from tests.test_cli import jobgate
from tests.test_serve import Server, open_core, wait_for, workdir  # noqa: F401  (workdir is a fixture)

MODULE = '''
from bot.jobs import Job


class Fresh(Job):
    class Meta:
        name = "Fresh job"
        has_sensitive_variables = False

    def run(self, data, commit):
        self.log_success(message="{version}")
'''


def save(path: Path, text: str) -> None:
    """Save as an editor does, whole; with a later modification time than the previous version."""
    path.write_text(text)
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 2_000_000_000))


def test_new_changed_and_broken_job_modules_without_a_restart(workdir: Path) -> None:  # noqa: F811
    url = f"sqlite:///{workdir / 'jobgate.db'}"
    core = open_core(url, workdir / "jobs")
    alice = core.services.tokens.create_api_token(user_id="UALICE", description="tests")
    admin = core.services.tokens.create_api_token(user_id="UADMIN", description="tests")
    headers = {"Authorization": f"Token {alice}"}
    server = Server(workdir, {"JOBGATE_DATABASE_URL": url})

    def run_and_read_log() -> str:
        created = httpx.post(f"{server.url}/api/extras/jobs/fresh.Fresh/run/", json={"data": {}}, headers=headers,
                             timeout=10)
        assert created.status_code == 201, created.text
        result_url = f"{server.url}/api/extras/job-results/{created.json()['job_result']['id']}/"
        found: dict[str, Any] = {}

        def finished() -> bool:
            found.update(httpx.get(result_url, headers=headers, timeout=5).json())
            return found["status"]["value"] in ("completed", "failed", "errored")

        wait_for(finished, timeout=30, what="the run to finish")
        assert found["status"]["value"] == "completed", found
        return " ".join(entry["message"] for entry in found["log"])

    try:
        module = workdir / "jobs" / "fresh.py"
        save(module, MODULE.format(version="version one"))
        wait_for(lambda: httpx.get(f"{server.url}/api/extras/jobs/fresh.Fresh/", headers=headers,
                                   timeout=5).status_code == 200, timeout=30, what="the new job to be loaded")
        enabled = jobgate(workdir, "jobs", "enable", "fresh.Fresh", env={"JOBGATE_DATABASE_URL": url})
        assert enabled.returncode == 0, enabled.stderr
        assert "version one" in run_and_read_log()

        save(module, MODULE.format(version="version two"))
        wait_for(lambda: server.health()["jobs"]["reloads"] >= 2, timeout=30, what="the change to be seen")
        assert "version two" in run_and_read_log()  # the worker processes run the current code

        save(module, MODULE.format(version="version three") + "\ndef broken(:\n")
        wait_for(lambda: not server.health()["jobs"]["ok"], timeout=30, what="the broken module to be seen")
        public = server.health()["jobs"]
        assert public["errors"] == [{"module": "fresh", "error": "cannot be loaded",
                                     "last_good_version_loaded": True}]
        assert "SyntaxError" in server.health(admin)["jobs"]["errors"][0]["error"]
        assert "version two" in run_and_read_log()  # the last good version still runs
        assert "job module fresh cannot be loaded: SyntaxError" in server.log.read_text()
    finally:
        assert server.terminate() == 0
