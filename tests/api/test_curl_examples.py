"""The two ``curl`` examples of Nautobot's "Job Scheduling and Approvals" page, run verbatim (host and ids aside)
with the real ``curl`` against a real ``jobgate serve`` process, set up with the ``jobgate`` command as an operator
would: enable the job, create the tokens, start the server."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2 as httpx
import pytest

from tests.api.conftest import API_POLICY_YAML

JOBGATE = str(Path(sys.executable).parent / "jobgate")

# Verbatim from the documentation; only the host differs ($TOKEN, $JOB_ID and $SCHEDULED_JOB_ID come from the shell).
SCHEDULE_EXAMPLE = (
    'curl -X POST -H "Authorization: Token $TOKEN" -H "Content-Type: application/json" '
    '-H "Accept: application/json; version=1.3; indent=4" http://$HOST/api/extras/jobs/$JOB_ID/run/ '
    '--data \'{"data": {"string_variable": "an arbitrary string", "integer_variable": 5}, "schedule": '
    '{"name": "test", "interval": "future", "start_time": "2030-01-01T01:00:00.000Z"}}\''
)
APPROVE_EXAMPLE = (
    'curl -X POST -H "Authorization: Token $TOKEN" -H "Content-Type: application/json" '
    '-H "Accept: application/json; version=1.3; indent=4" '
    "http://$HOST/api/extras/scheduled-jobs/$SCHEDULED_JOB_ID/approve?force=true"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Operator:
    """Runs the ``jobgate`` command in one working directory with one environment, as an operator would."""

    def __init__(self, cwd: Path, env: dict[str, str]) -> None:
        self.cwd = cwd
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("JOBGATE_", "SLACK_"))}
        self.env = {**clean, **env}

    def jobgate(self, *args: str) -> str:
        done = subprocess.run([JOBGATE, *args], cwd=self.cwd, env=self.env, capture_output=True, text=True,
                              timeout=60, check=False)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    def shell(self, command: str, **variables: str) -> str:
        done = subprocess.run(["bash", "-c", command], cwd=self.cwd, env={**self.env, **variables},
                              capture_output=True, text=True, timeout=30, check=False)
        assert done.returncode == 0, done.stderr
        return done.stdout


@pytest.fixture
def operator(tmp_path: Path, jobs_dir: Path, database_url: str) -> Operator:
    policy = tmp_path / "policy.yml"
    policy.write_text(API_POLICY_YAML)
    return Operator(tmp_path, {"JOBGATE_DATABASE_URL": database_url, "JOBGATE_JOBS_PATH": str(jobs_dir),
                               "JOBGATE_POLICY_FILE": str(policy)})


@contextmanager
def serving(operator: Operator) -> Iterator[str]:
    """``jobgate serve --host 127.0.0.1 --port P`` for the duration of a ``with`` block; yields ``127.0.0.1:P``."""
    host = f"127.0.0.1:{free_port()}"
    log = operator.cwd / "serve.log"
    with log.open("w") as output:
        process = subprocess.Popen([JOBGATE, "serve", "--host", "127.0.0.1", "--port", host.split(":")[1]],
                                   cwd=operator.cwd, env=operator.env, stdout=output, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, f"jobgate serve exited:\n{log.read_text()}"
            try:
                if httpx.get(f"http://{host}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, f"jobgate serve did not start:\n{log.read_text()}"
            time.sleep(0.1)
        yield host
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def test_the_documented_curl_examples_schedule_and_approve(operator: Operator) -> None:
    operator.jobgate("jobs", "enable", "apijobs.SchedulingExampleJob")
    requester = operator.jobgate("token", "create", "--user", "UBOB", "--description", "curl example")
    approver = operator.jobgate("token", "create", "--user", "UAPPROVER")
    with serving(operator) as host:
        job = httpx.get(f"http://{host}/api/extras/jobs/apijobs.SchedulingExampleJob/",
                        headers={"Authorization": f"Token {requester}"}, timeout=10).json()

        scheduled = operator.shell(SCHEDULE_EXAMPLE, TOKEN=requester, JOB_ID=job["id"], HOST=host)
        assert scheduled.startswith('{\n    "schedule": {\n        "id": ')  # indent=4 honoured
        body = json.loads(scheduled)
        assert body["job_result"] is None
        schedule = body["schedule"]
        assert schedule["name"] == "test" and schedule["interval"] == "future"
        assert schedule["start_time"] == "2030-01-01T01:00:00Z"
        assert schedule["approval_state"] == "pending" and schedule["user"]["id"] == "UBOB"
        assert schedule["data"] == {"string_variable": "an arbitrary string", "integer_variable": 5}

        approved = json.loads(operator.shell(APPROVE_EXAMPLE, TOKEN=approver, SCHEDULED_JOB_ID=schedule["id"],
                                             HOST=host))
        assert approved["id"] == schedule["id"]
        assert approved["approval_state"] == "approved"
        assert approved["approved_by_user"] == {"id": "UAPPROVER", "name": "UAPPROVER"}
        assert approved["next_run_at"] == "2030-01-01T01:00:00Z"

        again = operator.shell(APPROVE_EXAMPLE + ' -w "\\n%{http_code}"', TOKEN=approver,
                               SCHEDULED_JOB_ID=schedule["id"], HOST=host)
        assert again.rstrip().endswith("409")  # a decision is final

