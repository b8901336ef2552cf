"""``jobgate playground`` on the command line: its help, a port it cannot use refused in one line, and a job author's
own jobs (``JOBGATE_JOBS_PATH``) offered beside the examples."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import httpx

from tests.playground.conftest import JOBGATE, start_playground, stop_playground

AUTHOR_JOB = """
from bot.jobs import Job, StringVar


class Hello(Job):
    class Meta:
        name = "Say hello"
        approval_required = True
        has_sensitive_variables = False

    who = StringVar(description="Whom to greet")

    def run(self, data, commit):
        self.log_info(message=f"Hello {data['who']}")
"""


def test_help_names_the_options() -> None:
    out = subprocess.run([JOBGATE, "playground", "--help"], capture_output=True, text=True, timeout=30, check=False)
    assert out.returncode == 0
    assert "--port" in out.stdout and "--no-browser" in out.stdout and "3030" in out.stdout


def test_a_busy_port_is_refused_in_one_line(tmp_path: Path) -> None:
    # SLACK_* settings, and the .env, jobs and permissions file of the working folder, are the playground's own
    (tmp_path / ".env").write_text("JOBGATE_DATABASE_URL=mysql://nowhere/x\n")
    (tmp_path / "policy.yml").write_text("admins: [not valid\n")
    env = {**os.environ, "SLACK_BOT_TOKEN": "not-a-token", "JOBGATE_POLICY_FILE": "missing.yml"}
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        out = subprocess.run([JOBGATE, "playground", "--no-browser", "--port", str(port)], capture_output=True,
                             text=True, timeout=60, check=False, cwd=tmp_path, env=env)
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        f"jobgate: error: cannot listen on 127.0.0.1:{port}: Address already in use (another process is using it; "
        "choose another --port)"]


def test_a_port_that_is_not_one_is_refused() -> None:
    out = subprocess.run([JOBGATE, "playground", "--port", "70000"], capture_output=True, text=True, timeout=30,
                         check=False)
    assert out.returncode == 2 and "is not a TCP port" in out.stderr and "Traceback" not in out.stderr


def test_a_job_authors_own_jobs_are_offered_beside_the_examples(tmp_path: Path) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "greetings.py").write_text(AUTHOR_JOB)
    playground = start_playground(tmp_path, {"JOBGATE_JOBS_PATH": "mine"})
    try:
        api = playground.url + "playground/api/"
        answer = httpx.post(api + "command", json={"user": "UALICE", "channel": "CGENERAL",
                                                   "text": "/jobs run greetings.Hello who=world"}, timeout=30)
        assert answer.json() == {"status": 200, "problem": None}
        approvals: list[dict[str, object]] = []
        after = 0
        while not approvals:  # the feed answers at once when there is something new, else after 10 s with nothing
            events = httpx.get(api + "feed", params={"after": after}, timeout=30).json()["events"]
            assert events, "nothing reached #approvals"
            after = events[-1]["seq"]
            approvals = [e for e in events if e.get("channel") == "CAPPROVALS" and e["kind"] == "message"]
        assert "greetings.Hello" in str(approvals[0]["blocks"]) and "world" in str(approvals[0]["blocks"])
        refused = httpx.post(api + "command", json={"user": "UMALLORY", "channel": "CGENERAL", "text": "/jobs"})
        assert refused.status_code == 400 and "unknown user" in refused.json()["detail"]
    finally:
        assert stop_playground(playground) == 0, playground.output()
