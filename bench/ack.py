"""Ack latency of jobgate's Slack endpoint under load, against a bare Bolt app on the same server stack.

Three requests, each sent by 20 concurrent clients (keep-alive HTTP, signed as Slack signs): ``/jobs list``,
``/jobs run JOB`` (opens the run modal) and a click on Approve (each on a different pending request). The database
(SQLite by default, or ``--database-url``) holds 10,000 scheduled jobs and 1,000 pending approvals. The same requests
go to a bare Bolt app whose listeners only ack, mounted the same way (FastAPI + ``bot.slack_gate.slack_installer`` +
uvicorn) and built with the same Bolt settings as jobgate's (the signature is checked once, by the gate). Each server
runs in its own process, the fake Slack Web API in a third, the clients in this one. Prints p50/p99 per request and
the ratio to the bare app (targets: p99 ≤ 1.25 × bare and ≤ 100 ms; Slack's limit is 3 s).

First, end to end: ``--e2e`` clicks on Approve (one every 1.2 s, so that Slack's pace of about one message per second
per channel is not what is measured) while the other clients keep sending ``/jobs list``; each is timed from the
click to the ``chat.update`` of its approval message that the fake Slack records (jobgate's notifier runs in its
server process, as under ``jobgate serve``).

Usage: ``.venv/bin/python bench/ack.py [--requests 600] [--clients 20] [--database-url URL]``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SECRET = "bench-signing-secret"
JOBS = ROOT / "tests" / "fixtures" / "jobs"
POLICY = """
admins: [UADMIN]
groups:
  netops: [UALICE, UBOB]
  approvers: [UAPPROVER]
permissions:
  - {name: run, actions: [run, view], object_types: [extras.job], groups: [netops, approvers]}
  - {name: view, actions: [view], object_types: [extras.scheduledjob, extras.jobresult], groups: [netops]}
  - {name: approve, actions: [approve], object_types: [extras.job], groups: [approvers]}
  - {name: manage, actions: [view, change, delete], object_types: [extras.scheduledjob], groups: [approvers]}
"""


# --------------------------------------------------------------------------------------------------- processes


def run_fake(queue: Any, updates: Any) -> None:
    """The fake Slack Web API; every ``chat.update`` goes to ``updates`` as (channel, ts, monotonic time)."""
    from tests.fake_slack import FakeSlack

    fake = FakeSlack().start()
    fake.users.update({u: {"tz": "UTC"} for u in ("UALICE", "UBOB", "UAPPROVER", "UADMIN")})
    queue.put(fake.url)
    while True:
        time.sleep(0.01)
        with fake._lock:
            calls, fake.calls[:] = list(fake.calls), []  # keep memory flat
        for call in calls:
            if call.method == "chat.update" and call.ok:
                updates.put((call.params.get("channel"), call.params.get("ts"), call.at))


def run_server(kind: str, database_url: str, fake_url: str, queue: Any, switch_interval: float | None) -> None:
    import gc
    import logging

    if switch_interval:
        sys.setswitchinterval(switch_interval)

    import uvicorn
    from slack_bolt import Ack, App

    from bot.app import build_app, build_core
    from bot.config import Settings
    from bot.domain.policy_file import parse_policy
    from bot.notifier import Notifier
    from bot.slack import build_bolt_app, build_client
    from bot.slack_gate import slack_installer
    from storage.db import Database

    logging.basicConfig(level=logging.WARNING)
    settings = Settings(database_url=database_url, jobs_paths=(JOBS,), slack_bot_token="xoxb-bench",
                        slack_signing_secret=SECRET, slack_api_url=fake_url, approval_channel="C0APPROVALS")
    core = build_core(settings, db=Database.from_url(database_url), policy=parse_policy(POLICY), migrate=False)
    services = core.services
    services.management.sync_jobs()
    if kind == "jobgate":
        bolt = build_bolt_app(settings, services)
        notifier = Notifier.from_settings(settings, core.db)  # as under jobgate serve: woken by every commit
        core.wakeups.add(notifier.wake)
        notifier.start()
    else:
        # jobgate's Bolt settings: the gate (bot.slack_gate) has checked the signature already
        bolt = App(signing_secret=SECRET, client=build_client(settings), token_verification_enabled=False,
                   request_verification_enabled=False)

        def only_ack(ack: Ack) -> None:
            ack()

        bolt.command("/jobs")(only_ack)
        bolt.action("approval_approve")(only_ack)
    app = build_app(settings=settings, services=services, db=core.db,
                    installers=(slack_installer(bolt, signing_secret=SECRET),))
    gc.collect()  # as jobgate serve does: what is loaded lives as long as the process
    gc.freeze()
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    queue.put(server.servers[0].sockets[0].getsockname()[1])
    thread.join()


# ------------------------------------------------------------------------------------------------------ seeding


def seed(database_url: str, fake_url: str, e2e: int) -> tuple[list[str], dict[str, str]]:
    """Migrate, discover the test jobs, and insert 10,000 scheduled jobs and 1,000 pending approvals; then request
    ``e2e`` more approvals through the services, their approval messages posted to the fake Slack.

    Returns:
        The IDs of the 1,000 pending approvals, and the approval message ts of each end-to-end request by its ID.
    """
    from bot.app import build_core
    from bot.config import Settings
    from bot.domain.approvals import ApprovalState
    from bot.domain.permissions import Actor
    from bot.domain.policy_file import parse_policy
    from bot.domain.records import NewScheduledJob, ObjectType
    from bot.domain.schedules import IntervalType, Schedule
    from bot.notifier import Notifier
    from bot.services import ScheduleInput
    from storage.db import Database
    from storage.repositories import Repositories

    db = Database.from_url(database_url)
    settings = Settings(database_url=database_url, jobs_paths=(JOBS,), slack_bot_token="xoxb-bench",
                        slack_signing_secret=SECRET, slack_api_url=fake_url, approval_channel="C0APPROVALS",
                        max_pending_per_user=e2e)
    services = build_core(settings, db=db, policy=parse_policy(POLICY)).services
    services.management.sync_jobs()
    for job in services.listings.list_jobs():
        services.management.set_job_enabled(job.slug, True)
    approval_job = services.listings.get_job("testjobs.ApprovalJob")
    pass_job = services.listings.get_job("testjobs.TestPass")
    now = datetime.now(UTC)
    new: list[NewScheduledJob] = []
    for i in range(11_000):
        is_pending = i < 1_000
        start = now + timedelta(days=1, minutes=i)
        interval = IntervalType.FUTURE if is_pending else IntervalType.DAILY
        new.append(NewScheduledJob(
            name=f"bench {i}", job_id=(approval_job if is_pending else pass_job).id, user_id="UALICE",
            schedule=Schedule(interval=interval, start_time=start, time_zone="UTC", name=f"bench {i}"),
            data={"device": f"core-{i}"} if is_pending else {}, commit=True, approval_required=is_pending,
            approval_state=ApprovalState.PENDING if is_pending else ApprovalState.NOT_REQUIRED,
            next_run_at=None if is_pending else start, created_at=now,
        ))
    with db.write() as session:
        ids: list[str] = []
        for chunk in range(0, len(new), 1000):
            ids.extend(Repositories(session).scheduled_jobs.add_many(new[chunk:chunk + 1000]))
    clicked: list[str] = []
    for i in range(e2e):
        schedule = ScheduleInput(interval="future", name=f"e2e {i}", start_time=now + timedelta(days=2, minutes=i),
                                 time_zone="UTC")
        outcome = services.requests.request_job(actor=Actor(user_id="UBOB"), job="testjobs.ApprovalJob",
                                                data={"device": f"edge-{i}"}, schedule=schedule, time_zone="UTC")
        assert outcome.scheduled_job is not None
        clicked.append(outcome.scheduled_job.id)
    notifier = Notifier.from_settings(settings, db)
    moment = now
    while notifier.pending():
        notifier.deliver_due(moment)
        moment += timedelta(seconds=1.1)  # Slack's pace, on a clock of its own
    with db.read() as session:
        entries = Repositories(session).outbox
        messages = {i: next(e.message_ts for e in entries.list_for(ObjectType.SCHEDULED_JOB, i) if e.message_ts)
                    for i in clicked}
    db.dispose()
    return ids[:1_000], messages  # the pending approvals come first


# ------------------------------------------------------------------------------------------------------- clients


def signed(body: str, content_type: str) -> dict[str, str]:
    from slack_sdk.signature import SignatureVerifier

    ts = str(int(time.time()))
    return {"Content-Type": content_type, "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": SignatureVerifier(SECRET).generate_signature(timestamp=ts, body=body)}


def command_body(text: str, fake_url: str, n: int) -> str:
    return urlencode({"team_id": "T0BENCH", "channel_id": "C0GENERAL", "user_id": "UALICE", "command": "/jobs",
                      "text": text, "api_app_id": "A0BENCH", "trigger_id": f"{n}.trigger",
                      "response_url": fake_url.replace("/api/", f"/response/{n}")})


def click_body(scheduled_job_id: str, fake_url: str, n: int) -> str:
    payload = {
        "type": "block_actions", "team": {"id": "T0BENCH"}, "user": {"id": "UAPPROVER"}, "api_app_id": "A0BENCH",
        "container": {"type": "message", "message_ts": "1.1", "channel_id": "C0APPROVALS"},
        "channel": {"id": "C0APPROVALS"}, "trigger_id": f"{n}.trigger",
        "response_url": fake_url.replace("/api/", f"/response/{n}"),
        "message": {"ts": "1.1", "text": "x", "blocks": []},
        "actions": [{"type": "button", "action_id": "approval_approve", "block_id": "b", "value": scheduled_job_id,
                     "action_ts": "1.1"}],
    }
    return urlencode({"payload": json.dumps(payload)})


def measure(port: int, bodies: list[str], clients: int) -> list[float]:
    """Send the bodies with ``clients`` concurrent keep-alive connections; return each ack's latency (s)."""
    latencies: list[float] = []
    lock = threading.Lock()
    index = iter(range(len(bodies)))
    failures: list[str] = []

    def worker() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while True:
            with lock:
                i = next(index, None)
            if i is None:
                break
            body = bodies[i]
            headers = signed(body, "application/x-www-form-urlencoded")
            started = time.perf_counter()
            connection.request("POST", "/slack/events", body=body.encode(), headers=headers)
            response = connection.getresponse()
            response.read()
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                if response.status != 200:
                    failures.append(str(response.status))
        connection.close()

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        print(f"  ! {len(failures)} non-200 answers: {sorted(set(failures))}")
    return latencies


def end_to_end(port: int, clicks: dict[str, str], load: Callable[[int], str], clients: int, rate: float,
               fake_url: str, updates: Any) -> tuple[list[float], list[float], int]:
    """Click Approve on each request of ``clicks`` (ID → approval message ts), 1.2 s apart, while ``clients - 1``
    clients send ``load`` at ``rate`` requests per second in all; returns each click's ack latency and its click →
    ``chat.update`` time (s), and how many clicks saw no update within 30 s."""
    import queue as queues

    while True:  # updates left over from earlier phases
        try:
            updates.get_nowait()
        except queues.Empty:
            break
    done = threading.Event()
    sent: dict[str, float] = {}
    acks: list[float] = []

    def background() -> None:
        n = 2_000_000
        while not done.is_set():  # one request per client every (clients - 1) / rate seconds
            started = time.monotonic()
            measure(port, [load(n + i) for i in range(clients - 1)], clients - 1)
            n += clients
            done.wait(max(0.0, (clients - 1) / rate - (time.monotonic() - started)))

    measure(port, [load(1_500_000 + n) for n in range(40)], clients)  # warm-up
    loader = threading.Thread(target=background)
    loader.start()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for n, (scheduled_job_id, ts) in enumerate(clicks.items()):
        body = click_body(scheduled_job_id, fake_url, 3_000_000 + n)
        headers = signed(body, "application/x-www-form-urlencoded")
        sent[ts] = time.monotonic()
        started = time.perf_counter()
        connection.request("POST", "/slack/events", body=body.encode(), headers=headers)
        connection.getresponse().read()
        acks.append(time.perf_counter() - started)
        time.sleep(1.2)
    connection.close()
    latencies: list[float] = []
    deadline = time.monotonic() + 30
    while sent and time.monotonic() < deadline:
        try:
            _channel, ts, at = updates.get(timeout=max(0.0, deadline - time.monotonic()))
        except queues.Empty:
            break
        if ts in sent:
            latencies.append(at - sent.pop(ts))
    done.set()
    loader.join()
    return acks, latencies, len(sent)


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far; robust to other load on a shared machine (Linux)."""
    import os

    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=600, help="requests per scenario (≤ 1000)")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    parser.add_argument("--e2e", type=int, default=30, help="Approve clicks timed end to end (1.2 s apart)")
    parser.add_argument("--e2e-rate", type=float, default=100.0,
                        help="requests per second of the /jobs list load beside the end-to-end clicks")
    parser.add_argument("--switch-interval", type=float, default=None,
                        help="sys.setswitchinterval for both servers (CPython's default is 0.005 s)")
    args = parser.parse_args()
    requests = min(args.requests, 1000)
    ctx = mp.get_context("spawn")
    with tempfile.TemporaryDirectory() as tmp:
        database_url = args.database_url or f"sqlite:///{tmp}/bench.db"
        if args.database_url:
            from tests.conftest import reset_postgres

            reset_postgres(database_url)
        queue = ctx.Queue()
        updates = ctx.Queue()
        fake = ctx.Process(target=run_fake, args=(queue, updates), daemon=True)
        fake.start()
        fake_url = queue.get(timeout=30)
        started = time.perf_counter()
        pending, clicks = seed(database_url, fake_url, args.e2e)
        print(f"seeded 10,000 scheduled jobs and {len(pending):,} pending approvals, and {len(clicks)} with approval "
              f"messages, in {time.perf_counter() - started:.1f} s ({database_url.split(':')[0]})")
        servers = {}
        for kind in ("bare", "jobgate"):
            process = ctx.Process(target=run_server, args=(kind, database_url, fake_url, queue, args.switch_interval),
                                  daemon=True)
            process.start()
            servers[kind] = (process, queue.get(timeout=60))
        scenarios: dict[str, Callable[[int], str]] = {
            "/jobs list": lambda n: command_body("list", fake_url, n),
            "/jobs run JOB (modal)": lambda n: command_body("run testjobs.APITestJob", fake_url, n),
            "Approve click": lambda n: click_body(pending[n % len(pending)], fake_url, n),
        }
        idle = {}  # CPU seconds per second of each server at rest (its background loops)
        for kind, (process, _port) in servers.items():
            used = cpu_seconds(process.pid)
            time.sleep(2.0)
            idle[kind] = (cpu_seconds(process.pid) - used) / 2.0
        if clicks:  # first, before the scenarios below leave work queued behind their acks
            acks, e2e, missing = end_to_end(servers["jobgate"][1], clicks, scenarios["/jobs list"], args.clients,
                                            args.e2e_rate, fake_url, updates)
            print(f"end to end, {len(clicks)} Approve clicks 1.2 s apart beside {args.clients - 1} clients sending "
                  f"/jobs list ({args.e2e_rate:g}/s): click ack p50 {statistics.median(acks) * 1000:.1f} ms, p99 "
                  f"{percentile(acks, 0.99) * 1000:.1f} ms; click -> chat.update p50 "
                  f"{statistics.median(e2e) * 1000 if e2e else float('nan'):.1f} ms, p99 "
                  f"{percentile(e2e, 0.99) * 1000 if e2e else float('nan'):.1f} ms"
                  + (f"; {missing} without an update within 30 s" if missing else ""))
        print(f"{requests} requests per scenario, {args.clients} concurrent clients; latency of the ack (ms)")
        print(f"{'request':<24}{'bare p50':>10}{'bare p99':>10}{'jobgate p50':>13}{'jobgate p99':>13}"
              f"{'p99 ratio':>11}   CPU ms per request, bare / jobgate (its work after the ack included)")
        verdicts = []
        for name, make in scenarios.items():
            figures = {}
            cpu = {}
            for kind in ("bare", "jobgate"):
                process, port = servers[kind]
                measure(port, [make(1_000_000 + n) for n in range(40)], args.clients)  # warm-up
                time.sleep(1.0)  # let the jobgate listeners finish their work after the acks
                used = cpu_seconds(process.pid)
                latencies = measure(port, [make(n) for n in range(requests)], args.clients)
                figures[kind] = (statistics.median(latencies) * 1000, percentile(latencies, 0.99) * 1000)
                time.sleep(1.0)  # let the jobgate listeners finish their work after the acks
                cpu[kind] = (cpu_seconds(process.pid) - used - 1.0 * idle[kind]) * 1000 / requests
            ratio = figures["jobgate"][1] / figures["bare"][1]
            ok = ratio <= 1.25 and figures["jobgate"][1] <= 100
            verdicts.append(ok)
            print(f"{name:<24}{figures['bare'][0]:>10.1f}{figures['bare'][1]:>10.1f}{figures['jobgate'][0]:>13.1f}"
                  f"{figures['jobgate'][1]:>13.1f}{ratio:>10.2f}x  {'ok' if ok else 'MISSED':<8}"
                  f"{cpu['bare']:.2f} / {cpu['jobgate']:.2f}")
        for process, _ in servers.values():
            process.terminate()
        fake.terminate()
        print("targets: p99 <= 1.25 x bare and <= 100 ms:", "met" if all(verdicts) else "NOT met")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
