"""``jobgate serve`` as real processes: start-up on defaults, crashes (kill -9), restarts, SIGTERM, replicas.

These tests wait for conditions with deadlines (a job reaching a state, a known due time passing), never for a
fixed sleep that merely hopes something happened.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.app import Core, build_core
from bot.config import Settings
from bot.domain.policy_file import parse_policy
from bot.executor.orders import SHUTDOWN_INTERRUPTED
from bot.executor.runs import INTERRUPTED
from bot.services import ScheduleInput
from storage.db import Database, read_tables
from tests.conftest import ALICE, FIXTURE_JOBS, POLICY_YAML, POSTGRES_URL, reset_postgres

JOBGATE = str(Path(sys.executable).parent / "jobgate")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(predicate: Callable[[], object], *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


class Server:
    """One ``jobgate serve`` process."""

    def __init__(self, cwd: Path, env: dict[str, str], *extra: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = cwd / f"serve-{self.port}.log"
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("JOBGATE_", "SLACK_"))}
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                [JOBGATE, "serve", "--port", str(self.port), *extra], cwd=cwd, env={**clean, **env},
                stdout=log, stderr=subprocess.STDOUT,
            )
        wait_for(self.healthy, timeout=30, what=f"the server on {self.port} to start ({self.log.read_text()})")

    def healthy(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"server exited early:\n{self.log.read_text()}")
        try:
            return httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def health(self, token: str | None = None) -> dict[str, Any]:
        headers = {"Authorization": f"Token {token}"} if token else {}
        return httpx.get(f"{self.url}/healthz", timeout=2, headers=headers).json()  # type: ignore[no-any-return]

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def terminate(self, timeout: float = 30) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    shutil.copytree(FIXTURE_JOBS, tmp_path / "jobs", ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "policy.yml").write_text(POLICY_YAML)
    return tmp_path


_opened: list[Database] = []


@pytest.fixture(autouse=True)
def _dispose_databases() -> Iterator[None]:
    yield
    while _opened:
        _opened.pop().dispose()


def open_core(url: str, jobs: Path) -> Core:
    """jobgate's parts in the test process over the server's database, to set up jobs and read outcomes."""
    settings = Settings(database_url=url, jobs_paths=(jobs,))
    db = Database.from_url(url)
    _opened.append(db)
    core = build_core(settings, db=db, policy=parse_policy(POLICY_YAML))
    core.services.management.sync_jobs()
    for job in core.services.listings.list_jobs():
        core.services.management.set_job_enabled(job.slug, True)
    return core


def stored(core: Core, table: str) -> list[dict[str, Any]]:
    """The rows of a table as stored."""
    return read_tables(core.db.engine, table)[table]


def statuses(core: Core, scheduled_job_id: str) -> list[str]:
    return [r["status"] for r in stored(core, "job_results") if r["scheduled_job_id"] == scheduled_job_id]


def busy_with(server: Server) -> set[str]:
    """The job results the server's worker processes are running, as /healthz shows them."""
    return {w["job_result_id"] for w in server.health()["executor"]["local"]["workers"] if w["busy"]}


def schedule_once(core: Core, job: str, at: datetime, data: dict[str, object] | None = None) -> str:
    """A one-off due at ``at``, requested (by the clock passed in) just over the minimum lead before it."""
    outcome = core.services.requests.request_job(actor=ALICE, job=job, data=data, now=at - timedelta(seconds=16),
                                   schedule=ScheduleInput(interval="future", name=f"{job} at {at}", start_time=at))
    assert outcome.scheduled_job is not None
    return outcome.scheduled_job.id


# ----------------------------------------------------------------------------------------------------- on defaults


def test_serve_starts_on_its_embedded_defaults_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    server = Server(tmp_path, {})
    health = server.health()
    assert health["status"] == "ok"
    assert health["database"] == {"ok": True, "backend": "sqlite"}
    assert health["slack"] == {"connected": False, "mode": None}
    assert (tmp_path / "jobgate.db").is_file()
    assert server.terminate() == 0
    log = server.log.read_text()
    assert "Slack is not connected" in log
    assert "Traceback" not in log


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "--socket-mode needs SLACK_APP_TOKEN (an app-level token, xapp-...)"),
        ({"SLACK_APP_TOKEN": "xapp-1"}, "--socket-mode needs SLACK_BOT_TOKEN (the bot token, xoxb-...)"),
    ],
)
def test_serve_refuses_socket_mode_without_its_tokens(tmp_path: Path, env: dict[str, str], expected: str) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
    out = subprocess.run([JOBGATE, "serve", "--socket-mode"], cwd=tmp_path, capture_output=True, text=True,
                         timeout=60, env={**clean, **env})
    assert out.returncode == 2
    assert out.stderr.strip() == f"jobgate: error: {expected}"


# -------------------------------------------------------------------------------------------- crash and restart


def test_a_crash_interrupts_the_running_job_and_the_restart_runs_the_missed_one_once(workdir: Path) -> None:
    url = f"sqlite:///{workdir / 'jobgate.db'}"
    core = open_core(url, workdir / "jobs")
    long_running = schedule_once(core, "runjobs.WaitingJob", datetime.now(UTC) + timedelta(seconds=2),
                                 {"seconds": 120})

    server = Server(workdir, {"JOBGATE_DATABASE_URL": url})
    wait_for(lambda: statuses(core, long_running) == ["running"], timeout=20, what="the long job to run")
    server.kill()
    # Requested while the server is down (through the database, as a second replica's API would), due shortly after.
    due_while_down = datetime.now(UTC) + timedelta(seconds=1)
    missed = schedule_once(core, "testjobs.TestPass", due_while_down)
    wait_for(lambda: datetime.now(UTC) > due_while_down + timedelta(seconds=1), timeout=20,
             what="the second job's due time to pass while the server is down")
    assert statuses(core, missed) == []  # nobody dispatched it while the server was down

    restarted = Server(workdir, {"JOBGATE_DATABASE_URL": url})
    wait_for(lambda: statuses(core, missed) == ["completed"], timeout=20, what="the missed job to run")
    wait_for(lambda: statuses(core, long_running) == ["errored"], timeout=20, what="the crash to be recorded")
    results = stored(core, "job_results")
    [interrupted] = [r for r in results if r["scheduled_job_id"] == long_running]
    assert interrupted["error"] == INTERRUPTED
    assert len(results) == 2  # nothing ran twice
    assert restarted.terminate() == 0


def test_graceful_shutdown_leaves_nothing_running(workdir: Path) -> None:
    url = f"sqlite:///{workdir / 'jobgate.db'}"
    core = open_core(url, workdir / "jobs")
    long_running = schedule_once(core, "runjobs.WaitingJob", datetime.now(UTC) + timedelta(seconds=1),
                                 {"seconds": 120})
    server = Server(workdir, {"JOBGATE_DATABASE_URL": url, "JOBGATE_SHUTDOWN_GRACE": "1"})
    wait_for(lambda: statuses(core, long_running) == ["running"], timeout=20, what="the job to be claimed")
    [job_result_id] = [r["id"] for r in stored(core, "job_results") if r["scheduled_job_id"] == long_running]
    wait_for(lambda: job_result_id in busy_with(server), timeout=20, what="a worker to run the job")
    assert server.terminate() == 0
    results = stored(core, "job_results")
    [result] = [r for r in results if r["scheduled_job_id"] == long_running]
    assert (result["status"], result["error"]) == ("errored", SHUTDOWN_INTERRUPTED)
    assert sum(1 for r in results if r["status"] == "running") == 0


# ------------------------------------------------------------------------------------------- replicas (PostgreSQL)

if POSTGRES_URL:

    @pytest.fixture
    def postgres() -> Iterator[str]:
        reset_postgres(POSTGRES_URL)
        yield POSTGRES_URL

    def test_three_replicas_on_postgresql_run_every_due_time_exactly_once(workdir: Path, postgres: str) -> None:
        core = open_core(postgres, workdir / "jobs")
        start = datetime.now(UTC) + timedelta(seconds=20)  # time to create the jobs and start the replicas
        ids = []
        for i in range(1000):
            at = start + timedelta(milliseconds=10 * i)  # 1,000 one-offs due over about ten seconds
            if i % 40 == 0:  # some run long enough to be caught by the kill
                ids.append(schedule_once(core, "runjobs.WaitingJob", at, {"seconds": 3}))
            else:
                ids.append(schedule_once(core, "testjobs.TestPass", at))
        assert datetime.now(UTC) < start, "creating the jobs took too long for the test's timing"

        env = {"JOBGATE_DATABASE_URL": postgres}
        replicas = [Server(workdir, env) for _ in range(3)]
        wait_for(lambda: datetime.now(UTC) > start + timedelta(seconds=4), timeout=40, what="the burst to begin")
        token = core.services.tokens.create_api_token(user_id="UADMIN", description="health")
        victim = str(replicas[0].health(token)["executor"]["local"]["runner_id"])

        def victim_holds_a_long_job() -> bool:
            return any(r["runner_id"] == victim and r["status"] == "running" and r["name"] == "Waiting job"
                       for r in stored(core, "job_results"))

        wait_for(victim_holds_a_long_job, timeout=30, what="the first replica to be running a long job")
        replicas[0].kill()
        replicas[0] = Server(workdir, env)

        def settled() -> bool:
            rows = read_tables(core.db.engine, "job_results", "scheduled_jobs")
            open_results = sum(1 for r in rows["job_results"] if r["status"] in ["pending", "running"])
            active = sum(1 for r in rows["scheduled_jobs"] if r["enabled"])
            return open_results == 0 and active == 0

        wait_for(settled, timeout=90, what="every job to be dispatched and finished")
        results = stored(core, "job_results")
        per_job = dict(Counter(r["scheduled_job_id"] for r in results))
        outcomes = {(r["status"], r["error"]) for r in results}
        counts = dict(Counter(r["status"] for r in results))
        assert per_job == dict.fromkeys(ids, 1)  # every due time exactly once, none lost
        assert outcomes <= {("completed", None), ("errored", INTERRUPTED)}
        assert counts.get("errored", 0) >= 1  # the killed replica's long job
        assert sum(1 for r in results if r["runner_id"] == victim and r["status"] == "errored") >= 1
        for replica in replicas:
            assert replica.terminate() == 0


    def test_healthz_while_the_database_is_cut_is_503_json_without_internals(workdir: Path, postgres: str) -> None:
        from sqlalchemy.engine import make_url

        from tests.fake_slack import FakeSlack
        from tests.tcp_proxy import TcpProxy

        core = open_core(postgres, workdir / "jobs")
        token = core.services.tokens.create_api_token(user_id="UADMIN", description="health")
        target = make_url(postgres)
        with TcpProxy(target.host or "127.0.0.1", target.port or 5432) as proxy, FakeSlack() as fake:
            url = target.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
            server = Server(workdir, {"JOBGATE_DATABASE_URL": url, "SLACK_BOT_TOKEN": "xoxb-test",
                                      "SLACK_SIGNING_SECRET": "0123456789abcdef0123456789abcdef",
                                      "JOBGATE_SLACK_API_URL": fake.url})
            try:
                proxy.cut()

                def cut_seen() -> bool:
                    response = httpx.get(f"{server.url}/healthz", headers={"Authorization": f"Token {token}"})
                    return response.status_code == 503 and response.json()["scheduler"]["last_error"] is not None

                wait_for(cut_seen, timeout=30, what="the scheduler to meet the unreachable database")
                response = httpx.get(f"{server.url}/healthz", headers={"Authorization": f"Token {token}"})
                assert response.headers["content-type"] == "application/json"
                report = response.json()
                assert report["status"] == "unavailable" and report["database"]["ok"] is False
                assert report["slack"]["connected"] is True and report["notifier"]["running"] is True
                assert report["scheduler"]["last_error"].isidentifier()  # its kind, not its message
                for internal in ("127.0.0.1", str(proxy.port), "psycopg", "runner_id", "pid", "SELECT",
                                 socket.gethostname()):
                    assert internal not in response.text, internal
                assert "the database does not answer" in server.log.read_text()  # the cause is in the log
                proxy.restore()
                wait_for(server.healthy, timeout=30, what="the server to be healthy again")
                internal = server.health(token)
                assert internal["database"]["url"] == url and "runner_id" in internal["executor"]["local"]
            finally:
                assert server.terminate() == 0


def test_a_web_only_replica_runs_nothing_on_a_clock(tmp_path: Path) -> None:
    server = Server(tmp_path, {}, "--no-scheduler")
    health = server.health()
    assert health["scheduler"]["enabled"] is False and health["scheduler"]["running"] is False  # type: ignore[index]
    assert health["executor"]["local"]["claiming"] is True  # it still runs its pinned sensitive jobs, in its workers
    wait_for(lambda: all(w["alive"] for w in server.health()["executor"]["local"]["workers"]), timeout=20,
             what="its worker processes")
    assert server.terminate() == 0


def test_with_slack_configured_a_slash_command_runs_the_job_and_the_requester_hears_how_it_went(
    workdir: Path,
) -> None:
    from tests.fake_slack import FakeSlack, text_of
    from tests.slack_requests import SlackActions

    url = f"sqlite:///{workdir / 'jobgate.db'}"
    open_core(url, workdir / "jobs")
    secret = "0123456789abcdef0123456789abcdef"
    with FakeSlack() as fake:
        server = Server(workdir, {"JOBGATE_DATABASE_URL": url, "SLACK_BOT_TOKEN": "xoxb-test",
                                  "SLACK_SIGNING_SECRET": secret, "JOBGATE_SLACK_API_URL": fake.url})
        wait_for(lambda: server.health()["slack"] == {"connected": True, "mode": "http"}, timeout=20,
                 what="auth.test to succeed")
        slack = SlackActions(base_url=server.url, signing_secret=secret, fake=fake)
        try:
            ack = slack.command("run testjobs.TestPass --now", user_id="UALICE")
            assert ack.status == 200
            dms = fake.wait_for("chat.postMessage", count=1, timeout=20)
            assert dms[0].params["channel"] in ("UALICE", "DALICE")
            assert "Test pass" in text_of(dms[0]) and "ompleted" in text_of(dms[0])
            assert slack.post("command=/jobs&text=list", content_type="application/x-www-form-urlencoded",
                              kind="command", signed=False).status == 401
        finally:
            slack.close()
            exit_status = server.terminate()
        assert exit_status == 0


def test_healthz_shows_the_executor_and_each_worker_and_internals_only_with_an_admin_token(workdir: Path) -> None:
    url = f"sqlite:///{workdir / 'jobgate.db'}"
    core = open_core(url, workdir / "jobs")
    token = core.services.tokens.create_api_token(user_id="UADMIN", description="health")
    server = Server(workdir, {"JOBGATE_DATABASE_URL": url, "JOBGATE_WORKERS": "3"})
    try:
        wait_for(lambda: all(w["alive"] for w in server.health()["executor"]["local"]["workers"]), timeout=20,
                 what="the workers")
        public = server.health()
        assert public["executor"]["kind"] == "local"
        assert [(w["slot"], w["alive"], w["busy"]) for w in public["executor"]["local"]["workers"]] == [
            (0, True, False), (1, True, False), (2, True, False)]
        text = httpx.get(f"{server.url}/healthz", timeout=2).text
        assert "pid" not in text and "runner_id" not in text and socket.gethostname() not in text
        internal = server.health(token)["executor"]["local"]
        assert internal["runner_id"].startswith(socket.gethostname()[:32] + f":{server.process.pid}:")
        assert all(isinstance(w["pid"], int) and w["pid"] != server.process.pid for w in internal["workers"])
        assert server.health("not-a-token")["executor"]["local"].keys() == public["executor"]["local"].keys()
        not_admin = core.services.tokens.create_api_token(user_id="UALICE", description="not an admin")
        assert server.health(not_admin)["executor"]["local"].keys() == public["executor"]["local"].keys()
        assert "url" not in server.health(not_admin)["database"]
        assert server.health(token)["database"]["url"] == url
    finally:
        assert server.terminate() == 0


def test_the_permissions_file_is_read_again_when_it_changes_and_a_broken_one_keeps_the_last_good_policy(
    workdir: Path,
) -> None:
    url = f"sqlite:///{workdir / 'jobgate.db'}"
    core = open_core(url, workdir / "jobs")
    carol = core.services.tokens.create_api_token(user_id="UCAROL", description="new on the team")
    admin = core.services.tokens.create_api_token(user_id="UADMIN", description="health")
    server = Server(workdir, {"JOBGATE_DATABASE_URL": url})
    policy = workdir / "policy.yml"

    def replace(path: Path, text: str) -> None:  # as an editor or config management saves it: whole, at once
        (path.parent / "policy.yml.new").write_text(text)
        os.replace(path.parent / "policy.yml.new", path)

    def carol_runs() -> int:
        return httpx.post(f"{server.url}/api/extras/jobs/testjobs.TestPass/run/", json={"data": {}},
                          headers={"Authorization": f"Token {carol}"}, timeout=10).status_code

    try:
        assert carol_runs() == 403
        assert server.health()["permissions"] == {"ok": True, "reloads": 0}
        replace(policy, POLICY_YAML.replace("netops: [UALICE, UBOB]", "netops: [UALICE, UBOB, UCAROL]"))
        wait_for(lambda: carol_runs() == 201, timeout=20, what="the new permissions to be in force")
        assert server.health()["permissions"] == {"ok": True, "reloads": 1}

        replace(policy, POLICY_YAML.replace("actions: [run, view]", "actions: [run, veiw]"))  # a typo
        wait_for(lambda: not server.health()["permissions"]["ok"], timeout=20, what="the broken file to be seen")
        public = httpx.get(f"{server.url}/healthz", timeout=2)
        assert public.status_code == 200  # jobgate still works, on the last good policy
        assert public.json()["permissions"] == {"ok": False, "reloads": 1,
                                                "error": "permissions file invalid, last good policy in force"}
        assert str(workdir) not in public.text
        shown = server.health(admin)["permissions"]
        assert shown["file"] == str(policy) and "veiw" in shown["error"] and "netops may run jobs" in shown["error"]
        assert carol_runs() == 201  # the last good policy is still in force
        assert "veiw" in server.log.read_text()  # and the error is logged

        replace(policy, POLICY_YAML)  # Carol's access taken away again
        wait_for(lambda: carol_runs() == 403, timeout=20, what="the restored file to be in force")
        assert server.health()["permissions"] == {"ok": True, "reloads": 2}
    finally:
        assert server.terminate() == 0


def test_a_request_nobody_decides_expires_by_itself_in_a_running_server(workdir: Path) -> None:
    from tests.fake_slack import FakeSlack, text_of
    from tests.slack_requests import SlackActions

    (workdir / "policy.yml").write_text(
        POLICY_YAML
        + 'approval_rules:\n  - jobs: ["testjobs.ApprovalJob"]\n    min_approvers: 2\n    expire_after: 3s\n'
    )
    url = f"sqlite:///{workdir / 'jobgate.db'}"
    core = open_core(url, workdir / "jobs")
    secret = "0123456789abcdef0123456789abcdef"
    with FakeSlack() as fake:
        server = Server(workdir, {"JOBGATE_DATABASE_URL": url, "SLACK_BOT_TOKEN": "xoxb-test",
                                  "SLACK_SIGNING_SECRET": secret, "JOBGATE_SLACK_API_URL": fake.url,
                                  "JOBGATE_APPROVAL_CHANNEL": "C0APPROVALS"})
        slack = SlackActions(base_url=server.url, signing_secret=secret, fake=fake)
        try:
            assert slack.command("run testjobs.ApprovalJob --now", user_id="UALICE").status == 200
            (posted,) = fake.wait_for("chat.postMessage", count=1, timeout=20)
            assert posted.params["channel"] == "C0APPROVALS" and "expires <!date^" in text_of(posted)

            def expired_and_told() -> bool:
                updated = [c for c in fake.calls_to("chat.update") if "*Expired*" in text_of(c)]
                told = [c for c in fake.calls_to("chat.postMessage")
                        if c.params["channel"] in ("UALICE", "DALICE") and "expired" in text_of(c)]
                return bool(updated and told)

            wait_for(expired_and_told, timeout=30, what="the request to expire, its message and its requester told")
            (row,) = stored(core, "scheduled_jobs")
            assert (row["approval_state"], row["enabled"], row["end_reason"]) == ("expired", False, "expired")
            assert stored(core, "job_results") == []
        finally:
            slack.close()
            exit_status = server.terminate()
        assert exit_status == 0
