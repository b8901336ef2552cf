"""``JOBGATE_LOG_FORMAT`` through the real ``jobgate serve`` process: JSON lines carrying a run's ids, and a bad value
refused in one line; the same server's ``GET /metrics`` counts the run and its worker processes."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.test_serve import JOBGATE, Server, open_core, schedule_once, statuses, stored, wait_for, workdir

__all__ = ["workdir"]  # the fixture, shared with tests/test_serve.py


def json_lines(path: Path) -> list[dict[str, Any]]:
    """Every line of the server's output, each parsed as one JSON object (a line that is not one fails the test)."""
    parsed = []
    for line in path.read_text().splitlines():
        record = json.loads(line)
        assert isinstance(record, dict), line
        parsed.append(record)
    return parsed


def metric(url: str, name: str, **labels: str) -> float | None:
    text = httpx.get(f"{url}/metrics", timeout=5).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    return None


def test_json_logs_are_one_object_per_line_and_a_run_s_lines_carry_its_ids(workdir: Path) -> None:
    url = f"sqlite:///{workdir / 'jobgate.db'}"
    core = open_core(url, workdir / "jobs")
    scheduled_job_id = schedule_once(core, "testjobs.TestPass", datetime.now(UTC) + timedelta(seconds=2))
    server = Server(workdir, {"JOBGATE_DATABASE_URL": url, "JOBGATE_LOG_FORMAT": "json", "JOBGATE_WORKERS": "2"})
    wait_for(lambda: statuses(core, scheduled_job_id) == ["completed"], timeout=30, what="the job to run")
    [result] = [r for r in stored(core, "job_results") if r["scheduled_job_id"] == scheduled_job_id]
    wait_for(lambda: any(r.get("job_result_id") == result["id"] for r in json_lines(server.log)), timeout=10,
             what="the run's log line")
    wait_for(lambda: metric(server.url, "jobgate_worker_processes", executor="local") == 2, timeout=20,
             what="both worker processes in /metrics")
    assert metric(server.url, "jobgate_worker_processes_busy", executor="local") == 0
    assert metric(server.url, "jobgate_runs_total", job="testjobs.TestPass", status="completed",
                  dry_run="false") == 1
    assert metric(server.url, "jobgate_dispatch_lag_seconds_count") == 1
    assert server.terminate() == 0

    records = json_lines(server.log)
    assert len(records) >= 4
    for record in records:
        assert {"time", "level", "logger", "message"} <= record.keys(), record
        assert datetime.fromisoformat(record["time"]).tzinfo is not None
        assert record["level"] in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
    about_the_run = [r for r in records if r.get("job_result_id") == result["id"]]
    assert about_the_run, records
    assert all(r["scheduled_job_id"] == scheduled_job_id for r in about_the_run)
    assert any("testjobs.TestPass completed" in r["message"] for r in about_the_run)
    assert any(r["message"].startswith("jobgate listening on") for r in records)


def test_a_bad_log_format_is_one_configuration_error_line(tmp_path: Path) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("JOBGATE_", "SLACK_"))}
    out = subprocess.run([JOBGATE, "serve"], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                         env={**clean, "JOBGATE_LOG_FORMAT": "xml"})
    assert out.returncode == 2
    assert out.stderr == ("jobgate: error: JOBGATE_LOG_FORMAT: 'xml' is not a log format; expected text (readable "
                          "lines) or json (one JSON object per line)\n")
    assert out.stdout == ""
