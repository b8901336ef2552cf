"""What the real ``jobgate serve`` logs at INFO about what people did: each request, approval, denial, run start and
run outcome in one line naming the ids, the job and the user (JSON fields with ``JOBGATE_LOG_FORMAT=json``), and
HTTP access lines only when ``JOBGATE_ACCESS_LOG`` switches them on."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Any

import httpx

from tests.test_log_format import json_lines
from tests.test_serve import JOBGATE, Server, open_core, stored, wait_for, workdir

__all__ = ["workdir"]  # the fixture, shared with tests/test_serve.py


def post(server: Server, path: str, token: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    response = httpx.post(f"{server.url}/api/extras/{path}", json=body or {}, timeout=10,
                          headers={"Authorization": f"Token {token}"})
    assert response.status_code in (200, 201), response.text
    return response.json()  # type: ignore[no-any-return]


def act(workdir: Path, env: dict[str, str]) -> tuple[Server, dict[str, str]]:
    """Alice runs TestPass now and asks twice for ApprovalJob; the approver approves one and denies the other."""
    url = f"sqlite:///{workdir / 'jobgate.db'}"
    core = open_core(url, workdir / "jobs")
    alice = core.services.tokens.create_api_token(user_id="UALICE", description="log")
    approver = core.services.tokens.create_api_token(user_id="UAPPROVER", description="log")
    server = Server(workdir, {"JOBGATE_DATABASE_URL": url, **env})
    run = post(server, "jobs/testjobs.TestPass/run/", alice)["job_result"]
    approved = post(server, "jobs/testjobs.ApprovalJob/run/", alice)["schedule"]
    denied = post(server, "jobs/testjobs.ApprovalJob/run/", alice)["schedule"]
    post(server, f"scheduled-jobs/{approved['id']}/approve/", approver)
    post(server, f"scheduled-jobs/{denied['id']}/deny/", approver, {"reason": "not today"})

    def finished() -> list[dict[str, Any]]:
        return [r for r in stored(core, "job_results") if r["status"] == "completed"]

    wait_for(lambda: len(finished()) == 2, timeout=30, what="both runs to complete")
    [approved_run] = [r for r in finished() if r["scheduled_job_id"] == approved["id"]]
    ids = {"run": run["id"], "approved": approved["id"], "denied": denied["id"], "approved_run": approved_run["id"]}
    wait_for(lambda: f"{approved_run['id']} of testjobs.ApprovalJob completed" in server.log.read_text(),
             timeout=10, what="the outcome's log line")
    assert server.terminate() == 0
    return server, ids


def test_each_request_decision_start_and_outcome_is_one_info_line_with_its_ids(workdir: Path) -> None:
    server, ids = act(workdir, {})
    lines = server.log.read_text().splitlines()

    def one(pattern: str) -> str:
        found = [line for line in lines if re.search(pattern, line)]
        assert len(found) == 1, (pattern, found)
        assert " INFO " in found[0]
        return found[0]

    run, approved, denied, approved_run = ids["run"], ids["approved"], ids["denied"], ids["approved_run"]
    assert one(f"job result {run} of testjobs.TestPass requested by UALICE \\(run now\\)").endswith(
        f"[job_result_id={run}]")
    one(f"job result {run} of testjobs.TestPass started in worker \\d, as UALICE")
    one(f"job result {run} of testjobs.TestPass completed in [0-9.]+ s, as UALICE")
    one(f"scheduled job {approved} of testjobs.ApprovalJob requested by UALICE \\(immediately, awaiting approval\\)")
    one(f"scheduled job {approved} of testjobs.ApprovalJob approved by UAPPROVER \\(requested by UALICE\\)")
    started = one(f"job result {approved_run} of testjobs.ApprovalJob started in worker \\d, as UALICE")
    assert started.endswith(f"[job_result_id={approved_run} scheduled_job_id={approved}]")
    one(f"scheduled job {denied} of testjobs.ApprovalJob requested by UALICE")
    one(f"scheduled job {denied} of testjobs.ApprovalJob denied by UAPPROVER \\(requested by UALICE\\)")
    assert not any('HTTP/1.1"' in line for line in lines)  # access lines are off by default


def test_json_lines_carry_the_ids_job_and_user_as_fields_and_access_lines_can_be_switched_on(workdir: Path) -> None:
    server, ids = act(workdir, {"JOBGATE_LOG_FORMAT": "json", "JOBGATE_ACCESS_LOG": "1"})
    records = json_lines(server.log)

    run = [r for r in records if r.get("job_result_id") == ids["run"] and r["logger"] != "uvicorn.access"]
    assert [(r["level"], r["job"], r["user_id"]) for r in run] == [("INFO", "testjobs.TestPass", "UALICE")] * 3
    assert sorted(r["message"].split(" ")[5] for r in run) == ["completed", "requested", "started"]
    decisions = [r for r in records if r.get("scheduled_job_id") in (ids["approved"], ids["denied"])
                 and "job_result_id" not in r]
    assert [(r["level"], r["scheduled_job_id"], r["job"], r["user_id"]) for r in decisions] == [
        ("INFO", ids["approved"], "testjobs.ApprovalJob", "UALICE"),
        ("INFO", ids["denied"], "testjobs.ApprovalJob", "UALICE"),
        ("INFO", ids["approved"], "testjobs.ApprovalJob", "UAPPROVER"),
        ("INFO", ids["denied"], "testjobs.ApprovalJob", "UAPPROVER"),
    ]
    assert ["approved by UAPPROVER" in decisions[2]["message"], "denied by UAPPROVER" in decisions[3]["message"]] \
        == [True, True]
    access = [r["message"] for r in records if r["logger"] == "uvicorn.access"]
    approve_path = f"/api/extras/scheduled-jobs/{ids['approved']}/approve/"
    [approve] = [r for r in records if r["logger"] == "uvicorn.access" and r.get("path") == approve_path]
    assert (approve["method"], approve["status"], approve["client"].startswith("127.0.0.1:")) == ("POST", 200, True)
    assert any(f'"POST /api/extras/scheduled-jobs/{ids["approved"]}/approve/ HTTP/1.1" 200' in m for m in access)
    assert sum('"POST /api/extras/jobs/testjobs.ApprovalJob/run/ HTTP/1.1" 201' in m for m in access) == 2


def test_a_bad_access_log_switch_is_one_configuration_error_line(tmp_path: Path) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("JOBGATE_", "SLACK_"))}
    out = subprocess.run([JOBGATE, "serve"], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                         env={**clean, "JOBGATE_ACCESS_LOG": "loud"})
    assert out.returncode == 2
    assert out.stderr == ("jobgate: error: JOBGATE_ACCESS_LOG: 'loud' is not on or off; expected 1 (or true, yes, "
                          "on) or 0 (or false, no, off)\n")
