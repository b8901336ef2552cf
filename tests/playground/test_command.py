"""``jobgate playground`` on the command line: its help, and a port it cannot use refused in one line."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

from tests.playground.conftest import JOBGATE


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
