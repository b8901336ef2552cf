"""Execution benchmark: jobs in worker processes (executor ``local``) and on Celery workers, beside a bare APScheduler.

What it measures (issue 9), each scenario in a fresh subprocess of this script:

1. **Burst**: N one-off jobs due at the same instant T, on a no-op job that returns when its ``run()`` began. Seconds
   after T until all job results exist ("created", the dispatch pass's ``created_at``), all are running ("running":
   ``started_at``, which is when a worker process began the run), and all are finished (``completed_at``). jobgate
   runs the real ``bot.background.Background`` in the benchmark process (its worker processes are its children);
   with Celery, two ``jobgate worker`` processes (default concurrency) on a Redis broker. APScheduler: the same due
   times in a ``BackgroundScheduler`` (memory job store, as many pool threads as jobgate's worker processes): created
   = submitted to its pool, running = the job function started, finished = it returned.
2. **Dispatch lag** with 10,000 active schedules: 1,000 one-offs staggered over 10 s (the rest an hour or more
   away); lag = due time → ``started_at``; p50/p99/max. Also "with a notifier backlog": right after a 1,000-run burst
   whose "run finished" direct messages (about 2,000 Slack calls) the notifier works through at Slack's
   one-per-second pace, against a fake Slack Web API in its own process.
3. **Memory**: ``jobgate serve`` (a real process) with 10,000 schedules, idle: resident memory of it and its worker
   processes (RSS summed, which counts shared pages once per process, and PSS, which splits them).
4. **Slack acks**: ``/jobs help`` acked by ``jobgate serve`` (real process, signed requests, a fake Slack), one after
   another for a few seconds: idle, then while two worker processes burn both cores.

Run it (``--quick``: smaller sizes, a smoke run)::

    .venv/bin/python bench/execution.py [--quick] [--postgres-url URL] [--broker-url URL] [--json FILE]

``--postgres-url`` names a database the benchmark may empty (its schema is dropped and re-created; never the
database ``test``); ``--broker-url`` a Redis database it may flush (default ``redis://127.0.0.1:6379/5``). Without
them the PostgreSQL and Celery rows are skipped. Progress goes to stderr, the table to stdout; the table ends with
the CPU other processes used meanwhile (this machine is shared: tail latencies are only as quiet as that).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dispatch_scenarios.common import (
    NOOP_MODULE,
    NOOP_SOURCE,
    USER_ID,
    add_scheduled_jobs,
    aps_scheduler,
    at,
    due_offsets,
    later_offsets,
    new_scheduled_jobs,
    open_jobgate,
    percentile,
    reset_postgres_schema,
    result_rows,
    sleep_until,
    tree_memory_mb,
    wait_until,
)

from bot.background import Background, Timings
from bot.config import ExecutorKind, Settings
from bot.domain.results import JobResultStatus
from bot.domain.schedules import IntervalType
from storage.repositories import Repositories

ROOT = Path(__file__).resolve().parent.parent
JOBGATE = str(Path(sys.executable).parent / "jobgate")
SECRET = "bench-signing-secret-0123456789ab"
SPIN_SOURCE = '''"""Burns one CPU for ``seconds``."""

import time

from bot.jobs import IntegerVar, Job


class Spin(Job):
    class Meta:
        name = "Bench spin"
        has_sensitive_variables = False

    seconds = IntegerVar(default=10)

    def run(self, data, commit):
        deadline = time.monotonic() + data["seconds"]
        while time.monotonic() < deadline:
            pass
'''

TARGETS = {"burst_1000_s": 1.0, "burst_10000_sqlite_s": 3.0, "burst_10000_postgresql_s": 5.0,
           "burst_10000_celery_s": 10.0, "lag_local_p99_ms": 50.0, "lag_celery_p99_ms": 100.0, "rss_mb": 300.0,
           "ack_p99_ms": 100.0}


@dataclass(frozen=True)
class Sizes:
    burst_small: int
    burst_big: int
    lag_total: int
    lag_due: int
    lag_window_s: float
    backlog: int
    memory_total: int
    ack_seconds: float


FULL = Sizes(burst_small=1_000, burst_big=10_000, lag_total=10_000, lag_due=1_000, lag_window_s=10.0, backlog=1_000,
             memory_total=10_000, ack_seconds=5.0)
QUICK = Sizes(burst_small=500, burst_big=2_000, lag_total=2_000, lag_due=200, lag_window_s=5.0, backlog=200,
              memory_total=2_000, ack_seconds=2.0)


# ------------------------------------------------------------------------------------------------------- helpers


def open_core(args: argparse.Namespace, *, executor: ExecutorKind = ExecutorKind.LOCAL, slack: str | None = None
              ) -> tuple[Any, str]:
    """jobgate's parts over a fresh database, the no-op job enabled; returns the core and the job's id."""
    core, job_id, _ = open_jobgate(args.url, Path(args.workdir) / "jobs", fresh=True)
    if executor is ExecutorKind.CELERY or slack is not None:
        from bot.app import build_core

        settings = Settings(database_url=args.url, jobs_paths=(Path(args.workdir) / "jobs",), executor=executor,
                            celery_broker_url=args.broker_url if executor is ExecutorKind.CELERY else None,
                            slack_bot_token="xoxb-bench" if slack else None, slack_signing_secret=SECRET,
                            slack_api_url=slack or "https://slack.com/api/")
        core = build_core(settings, db=core.db, migrate=False)
        core.services.management.sync_jobs()
    return core, job_id


def completed(core: Any) -> int:
    with core.db.read() as session:
        counts = Repositories(session).job_results.count_by_status()
    return sum(n for status, n in counts.items() if status.is_final and status is not JobResultStatus.MISSED)


def celery_workers(args: argparse.Namespace, count: int = 2) -> list[subprocess.Popen[bytes]]:
    import redis

    redis.Redis.from_url(args.broker_url).flushdb()
    env = {**os.environ, "JOBGATE_DATABASE_URL": args.url, "JOBGATE_EXECUTOR": "celery",
           "JOBGATE_CELERY_BROKER_URL": args.broker_url, "JOBGATE_JOBS_PATH": str(Path(args.workdir) / "jobs")}
    workers = []
    for i in range(count):
        log = (Path(args.workdir) / f"worker-{i}.log").open("w")
        workers.append(subprocess.Popen([JOBGATE, "worker"], env=env, stdout=log, stderr=subprocess.STDOUT))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        logs = [(Path(args.workdir) / f"worker-{i}.log").read_text() for i in range(count)]
        if all(" ready." in text for text in logs):
            return workers
        time.sleep(0.1)
    raise RuntimeError("the Celery workers did not start")


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()


def background(core: Any, **timings: Any) -> Background:
    bg = Background(core, timings=Timings(**timings))
    bg.start()
    bg.executor.pool.wait_ready(60)
    gc.collect()
    gc.freeze()  # as jobgate serve does once it started
    return bg


# --------------------------------------------------------------------------------------------------- scenarios


def burst_jobgate(args: argparse.Namespace, sizes: Sizes) -> dict[str, Any]:
    celery = args.backend == "celery"
    core, job_id = open_core(args, executor=ExecutorKind.CELERY if celery else ExecutorKind.LOCAL)
    workers = celery_workers(args) if celery else []
    n = args.count
    t0 = time.time() + 4
    add_scheduled_jobs(core, new_scheduled_jobs(job_id, [at(t0)] * n, interval=IntervalType.FUTURE))
    bg = background(core)
    ready_margin = t0 - time.time()
    sleep_until(t0)
    done = wait_until(lambda: completed(core) >= n, timeout=300, interval=0.1)
    bg.stop()
    stop(workers)
    rows = result_rows(core)
    core.db.dispose()
    created = sorted(r.created_at.timestamp() - t0 for r in rows)
    started = sorted(r.started_at.timestamp() - t0 for r in rows if r.started_at is not None)
    finished = sorted(r.completed_at.timestamp() - t0 for r in rows if r.completed_at is not None)
    return {"n": n, "results": len(rows), "complete": done, "ready_margin_s": ready_margin,
            "created_s": created[-1] if created else None, "running_s": started[-1] if started else None,
            "finished_s": finished[-1] if finished else None, "running_p50_s": percentile(started, 50),
            "statuses": sorted({r.status.value for r in rows})}


def burst_aps(args: argparse.Namespace, sizes: Sizes) -> dict[str, Any]:
    from apscheduler.events import EVENT_JOB_SUBMITTED
    from apscheduler.triggers.date import DateTrigger

    n = args.count
    submitted: list[float] = []
    started: list[float] = []
    ended: list[float] = []

    def noop() -> None:
        started.append(time.time())
        ended.append(time.time())

    scheduler = aps_scheduler(Settings().workers)
    scheduler.add_listener(lambda _event: submitted.append(time.time()), EVENT_JOB_SUBMITTED)
    t0 = time.time() + 4
    for i in range(n):
        scheduler.add_job(noop, DateTrigger(run_date=at(t0)), id=str(i))
    scheduler.start()
    sleep_until(t0)
    done = wait_until(lambda: len(ended) >= n, timeout=300, interval=0.01)
    scheduler.shutdown(wait=True)
    return {"n": n, "results": len(submitted), "complete": done, "created_s": max(submitted) - t0,
            "running_s": max(started) - t0, "finished_s": max(ended) - t0,
            "running_p50_s": percentile([s - t0 for s in started], 50)}


def lag_jobgate(args: argparse.Namespace, sizes: Sizes) -> dict[str, Any]:
    celery = args.backend == "celery"
    fake = start_fake_slack(args) if args.backlog else None
    core, job_id = open_core(args, executor=ExecutorKind.CELERY if celery else ExecutorKind.LOCAL,
                             slack=fake[1] if fake else None)
    workers = celery_workers(args) if celery else []
    start = time.time() + 5
    burst_at = start
    window = start + (8 if args.backlog else 0)
    due = [at(window + o) for o in due_offsets(sizes.lag_due, sizes.lag_window_s)]
    later = [at(window + o) for o in later_offsets(sizes.lag_total - sizes.lag_due)]
    new = new_scheduled_jobs(job_id, due) + new_scheduled_jobs(job_id, later, first_index=len(due))
    if args.backlog:
        new += new_scheduled_jobs(job_id, [at(burst_at)] * sizes.backlog, first_index=len(new),
                                  interval=IntervalType.FUTURE)
    add_scheduled_jobs(core, new)
    notifier = None
    if fake is not None:
        from bot.notifier import Notifier

        notifier = Notifier.from_settings(core.settings, core.db)
    bg = Background(core, notifier=notifier, timings=Timings())
    bg.start()
    bg.executor.pool.wait_ready(60)
    gc.collect()
    gc.freeze()
    ready_margin = start - time.time()
    end = at(window + sizes.lag_window_s)
    sleep_until(window + sizes.lag_window_s + 1)
    expected = sizes.lag_due + (sizes.backlog if args.backlog else 0)
    done = wait_until(lambda: completed(core) >= expected, timeout=120, interval=0.25)
    backlog_left = notifier.pending() if notifier is not None else 0
    bg.stop()
    stop(workers)
    if fake is not None:
        fake[0].terminate()
    rows = [r for r in result_rows(core) if r.scheduled_for is not None and at(window) <= r.scheduled_for <= end]
    core.db.dispose()
    lags = [(r.started_at - r.scheduled_for).total_seconds() * 1000 for r in rows if r.started_at is not None]
    return {"expected": sizes.lag_due, "started": len(lags), "complete": done, "ready_margin_s": ready_margin,
            "p50_ms": percentile(lags, 50), "p99_ms": percentile(lags, 99), "max_ms": max(lags, default=0.0),
            "outbox_backlog": backlog_left}


def lag_aps(args: argparse.Namespace, sizes: Sizes) -> dict[str, Any]:
    from apscheduler.triggers.date import DateTrigger

    lags: list[float] = []

    def noop(due: float) -> None:
        lags.append((time.time() - due) * 1000)

    scheduler = aps_scheduler(Settings().workers)
    window = time.time() + 5
    for i, offset in enumerate(due_offsets(sizes.lag_due, sizes.lag_window_s)):
        scheduler.add_job(noop, DateTrigger(run_date=at(window + offset)), args=(window + offset,), id=f"d{i}")
    for i, offset in enumerate(later_offsets(sizes.lag_total - sizes.lag_due)):
        scheduler.add_job(noop, DateTrigger(run_date=at(window + offset)), args=(window + offset,), id=f"l{i}")
    scheduler.start()
    sleep_until(window + sizes.lag_window_s + 1)
    done = wait_until(lambda: len(lags) >= sizes.lag_due, timeout=60, interval=0.05)
    scheduler.shutdown(wait=False)
    return {"expected": sizes.lag_due, "started": len(lags), "complete": done, "p50_ms": percentile(lags, 50),
            "p99_ms": percentile(lags, 99), "max_ms": max(lags, default=0.0)}


def memory_jobgate(args: argparse.Namespace, sizes: Sizes) -> dict[str, Any]:
    core, job_id = open_core(args)
    later = [at(time.time() + o) for o in later_offsets(sizes.memory_total)]
    add_scheduled_jobs(core, new_scheduled_jobs(job_id, later))
    core.db.dispose()
    server, url = serve(args, {})
    try:
        wait_until(lambda: all(w["alive"] for w in health(url)["executor"]["local"]["workers"]), timeout=60,
                   interval=0.2)
        time.sleep(5)  # idle: the dispatcher has nothing due for an hour
        rss, pss, processes = tree_memory_mb(server.pid)
        serve_rss, _, _ = tree_memory_mb_single(server.pid)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
    return {"schedules": sizes.memory_total, "rss_mb": rss, "pss_mb": pss, "processes": processes,
            "serve_rss_mb": serve_rss}


def memory_aps(args: argparse.Namespace, sizes: Sizes) -> dict[str, Any]:
    from apscheduler.triggers.date import DateTrigger

    scheduler = aps_scheduler(Settings().workers)
    base = time.time()
    for i, offset in enumerate(later_offsets(sizes.memory_total)):
        scheduler.add_job(print, DateTrigger(run_date=at(base + offset)), id=str(i))
    scheduler.start()
    time.sleep(2)
    rss, pss, processes = tree_memory_mb()
    scheduler.shutdown(wait=False)
    return {"schedules": sizes.memory_total, "rss_mb": rss, "pss_mb": pss, "processes": processes}


def acks_jobgate(args: argparse.Namespace, sizes: Sizes) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT))  # the signed-request helper of the tests
    from tests.slack_requests import SlackActions

    fake, fake_url = start_fake_slack(args)
    core, _ = open_core(args)
    spin = core.services.management.set_job_enabled("spin.Spin", True)
    core.db.dispose()
    server, url = serve(args, {"SLACK_BOT_TOKEN": "xoxb-bench", "SLACK_SIGNING_SECRET": SECRET,
                               "JOBGATE_SLACK_API_URL": fake_url})
    slack = SlackActions(base_url=url, signing_secret=SECRET, fake=_FakeSlackRef(fake_url))
    try:
        wait_until(lambda: all(w["alive"] for w in health(url)["executor"]["local"]["workers"]), timeout=60,
                   interval=0.2)
        idle = ack_latencies(slack, sizes.ack_seconds)
        core, _ = open_core_again(args)
        for _ in range(2):
            core.services.requests.request_job(actor=_actor(), job=spin.slug, data={"seconds": 60})
        wait_until(lambda: sum(w["busy"] for w in health(url)["executor"]["local"]["workers"]) == 2, timeout=30,
                   interval=0.1)
        busy = ack_latencies(slack, sizes.ack_seconds)
        spinning = sum(w["busy"] for w in health(url)["executor"]["local"]["workers"])
    finally:
        slack.close()
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=90)
        fake.terminate()
    return {"idle_n": len(idle), "idle_p50_ms": percentile(idle, 50), "idle_p99_ms": percentile(idle, 99),
            "busy_n": len(busy), "busy_p50_ms": percentile(busy, 50), "busy_p99_ms": percentile(busy, 99),
            "spinning_at_end": spinning}


# ----------------------------------------------------------------------------------------- processes and Slack


def serve(args: argparse.Namespace, extra: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JOBGATE_", "SLACK_"))}
    env.update({"JOBGATE_DATABASE_URL": args.url, "JOBGATE_JOBS_PATH": str(Path(args.workdir) / "jobs"), **extra})
    log = (Path(args.workdir) / f"serve-{port}.log").open("w")
    server = subprocess.Popen([JOBGATE, "serve", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    if not wait_until(lambda: _healthy(url), timeout=60, interval=0.2):
        raise RuntimeError("jobgate serve did not start")
    return server, url


def _healthy(url: str) -> bool:
    try:
        return bool(health(url).get("status") == "ok")
    except Exception:
        return False


def health(url: str) -> dict[str, Any]:
    import httpx

    found: dict[str, Any] = httpx.get(f"{url}/healthz", timeout=5).json()
    return found


def tree_memory_mb_single(pid: int) -> tuple[float, float, int]:
    text = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()
    rss = next(int(line.split()[1]) for line in text if line.startswith("Rss:")) / 1024
    pss = next(int(line.split()[1]) for line in text if line.startswith("Pss:")) / 1024
    return rss, pss, 1


def _fake_main(queue: Any) -> None:
    sys.path.insert(0, str(ROOT))
    from tests.fake_slack import FakeSlack

    fake = FakeSlack().start()
    fake.users.update({USER_ID: {"tz": "UTC"}, "UALICE": {"tz": "UTC"}})
    queue.put(fake.url)
    while True:
        time.sleep(1)
        with fake._lock:  # keep memory flat over a long run: the benchmark never reads the calls back
            fake.calls.clear()


def start_fake_slack(args: argparse.Namespace) -> tuple[Any, str]:
    """A fake Slack Web API in its own process (it answers instantly; the notifier paces itself)."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_fake_main, args=(queue,), daemon=True)
    process.start()
    return process, str(queue.get(timeout=30))


@dataclass
class _FakeSlackRef:
    """What ``SlackActions`` needs of the fake Slack: a ``response_url`` for the commands."""

    url: str

    def response_url(self, name: str = "r") -> str:
        return f"{self.url}response/{name}"


def _actor() -> Any:
    from bot.domain.permissions import Actor

    return Actor(user_id="UADMIN")


def open_core_again(args: argparse.Namespace) -> tuple[Any, str]:
    from bot.app import build_core
    from bot.domain.policy_file import parse_policy

    settings = Settings(database_url=args.url, jobs_paths=(Path(args.workdir) / "jobs",))
    core = build_core(settings, policy=parse_policy("admins: [UADMIN]\n", source="bench"), migrate=False)
    core.services.management.sync_jobs()
    return core, ""


def ack_latencies(slack: Any, seconds: float) -> list[float]:
    latencies = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        started = time.perf_counter()
        slack.command("help", user_id="UALICE")
        latencies.append((time.perf_counter() - started) * 1000)
    return latencies


SCENARIOS: dict[str, Callable[[argparse.Namespace, Sizes], dict[str, Any]]] = {
    "burst": burst_jobgate, "burst-aps": burst_aps, "lag": lag_jobgate, "lag-aps": lag_aps,
    "memory": memory_jobgate, "memory-aps": memory_aps, "acks": acks_jobgate,
}


# ------------------------------------------------------------------------------------------------------ parent


@dataclass
class Run:
    workdir: Path
    quick: bool
    postgres_url: str | None
    broker_url: str | None
    only: tuple[str, ...] = ()
    outside: dict[str, tuple[float, float]] = field(default_factory=dict)


def machine_busy_s() -> float:
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def children_cpu_s() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def child(run: Run, label: str, scenario: str, *, backend: str = "local", url: str = "", count: int = 0,
          backlog: bool = False) -> dict[str, Any]:
    if run.only and not any(label.startswith(prefix) for prefix in run.only):
        return {"error": "not measured (--only)"}
    result = run.workdir / f"{label.replace(' ', '_')}.json"
    if url.startswith("sqlite"):
        url = f"sqlite:///{run.workdir / (label.replace(' ', '_') + '.db')}"
    elif url:
        reset_postgres_schema(url)
    command = [sys.executable, str(Path(__file__).resolve()), "--scenario", scenario, "--backend", backend,
               "--workdir", str(run.workdir), "--url", url, "--result", str(result), "--count", str(count),
               "--broker-url", run.broker_url or ""]
    command += ["--quick"] if run.quick else []
    command += ["--backlog"] if backlog else []
    print(f"- {label} ...", file=sys.stderr, flush=True)
    busy, own, started = machine_busy_s(), children_cpu_s(), time.perf_counter()
    completed = subprocess.run(command, check=False, cwd=ROOT)
    elapsed = time.perf_counter() - started
    run.outside[label] = (max(0.0, (machine_busy_s() - busy) - (children_cpu_s() - own)) / elapsed, elapsed)
    if completed.returncode != 0 or not result.is_file():
        return {"error": f"exit status {completed.returncode}"}
    figures: dict[str, Any] = json.loads(result.read_text())
    return figures


def measure(run: Run) -> dict[str, dict[str, Any]]:
    sizes = QUICK if run.quick else FULL
    sqlite = "sqlite:///"
    out: dict[str, dict[str, Any]] = {}
    small, big = sizes.burst_small, sizes.burst_big
    out[f"burst {small} SQLite"] = child(run, f"burst {small} SQLite", "burst", url=sqlite, count=small)
    out[f"burst {small} APScheduler"] = child(run, f"burst {small} APScheduler", "burst-aps", count=small)
    out[f"burst {big} SQLite"] = child(run, f"burst {big} SQLite", "burst", url=sqlite, count=big)
    if run.postgres_url:
        out[f"burst {big} PostgreSQL"] = child(run, f"burst {big} PostgreSQL", "burst", url=run.postgres_url,
                                               count=big)
        if run.broker_url:
            out[f"burst {big} Celery"] = child(run, f"burst {big} Celery", "burst", backend="celery",
                                               url=run.postgres_url, count=big)
    out[f"burst {big} APScheduler"] = child(run, f"burst {big} APScheduler", "burst-aps", count=big)
    out["lag SQLite"] = child(run, "lag SQLite", "lag", url=sqlite)
    out["lag SQLite, notifier backlog"] = child(run, "lag SQLite backlog", "lag", url=sqlite, backlog=True)
    if run.postgres_url:
        out["lag PostgreSQL"] = child(run, "lag PostgreSQL", "lag", url=run.postgres_url)
        out["lag PostgreSQL, notifier backlog"] = child(run, "lag PostgreSQL backlog", "lag", url=run.postgres_url,
                                                        backlog=True)
        if run.broker_url:
            out["lag Celery"] = child(run, "lag Celery", "lag", backend="celery", url=run.postgres_url)
            out["lag Celery, notifier backlog"] = child(run, "lag Celery backlog", "lag", backend="celery",
                                                        url=run.postgres_url, backlog=True)
    out["lag APScheduler"] = child(run, "lag APScheduler", "lag-aps")
    out["memory SQLite"] = child(run, "memory SQLite", "memory", url=sqlite)
    out["memory APScheduler"] = child(run, "memory APScheduler", "memory-aps")
    out["acks SQLite"] = child(run, "acks SQLite", "acks", url=sqlite)
    return out


def fmt(value: Any, spec: str = ".2f") -> str:
    return "-" if value is None or (isinstance(value, float) and value != value) else format(value, spec)


def report(run: Run, figures: dict[str, dict[str, Any]], elapsed: float) -> list[str]:
    sizes = QUICK if run.quick else FULL
    lines = [f"jobgate execution benchmark ({'QUICK sizes' if run.quick else 'full sizes'}), "
             f"{time.strftime('%Y-%m-%d %H:%M')}, Python {platform.python_version()}, {os.cpu_count()} CPUs, "
             f"{Settings().workers} worker processes (JOBGATE_WORKERS default)", ""]
    add = lines.append
    add("1. Burst: N one-off jobs due at one instant T; seconds after T until all exist / all running / all finished")
    add(f"   {'':<28}{'created':>9}{'running':>9}{'finished':>10}{'p50 run':>9}   target (all running)")
    targets = {f"burst {sizes.burst_small} SQLite": TARGETS["burst_1000_s"],
               f"burst {sizes.burst_big} SQLite": TARGETS["burst_10000_sqlite_s"],
               f"burst {sizes.burst_big} PostgreSQL": TARGETS["burst_10000_postgresql_s"],
               f"burst {sizes.burst_big} Celery": TARGETS["burst_10000_celery_s"]}
    for name, f in figures.items():
        if not name.startswith("burst") or f.get("error") == "not measured (--only)":
            continue
        if "error" in f:
            add(f"   {name:<28}{f['error']}")
            continue
        target = targets.get(name)
        verdict = "" if target is None else (f"<= {target:g} s: " + ("MET" if (f["running_s"] or 1e9) <= target
                                                                      else "MISSED"))
        add(f"   {name:<28}{fmt(f['created_s']):>9}{fmt(f['running_s']):>9}{fmt(f['finished_s']):>10}"
            f"{fmt(f['running_p50_s']):>9}   {verdict}{'' if f['complete'] else ' (timed out)'}")
    add("")
    add(f"2. Dispatch lag, due -> running: {sizes.lag_total:,} active schedules, {sizes.lag_due:,} one-offs staggered "
        f"over {sizes.lag_window_s:g} s")
    add(f"   {'':<34}{'ran':>7}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}   target p99")
    for name, f in figures.items():
        if not name.startswith("lag") or f.get("error") == "not measured (--only)":
            continue
        if "error" in f:
            add(f"   {name:<34}{f['error']}")
            continue
        target = TARGETS["lag_celery_p99_ms"] if "Celery" in name else (
            None if "APScheduler" in name else TARGETS["lag_local_p99_ms"])
        verdict = "" if target is None else f"<= {target:g} ms: " + ("MET" if f["p99_ms"] <= target else "MISSED")
        backlog = f" (outbox still {f['outbox_backlog']:,})" if f.get("outbox_backlog") else ""
        add(f"   {name:<34}{f['started']:>7,}{fmt(f['p50_ms'], '.1f'):>9}{fmt(f['p99_ms'], '.1f'):>9}"
            f"{fmt(f['max_ms'], '.1f'):>9}   {verdict}{backlog}")
    add("")
    add(f"3. Memory, idle, {sizes.memory_total:,} schedules")
    for name, f in figures.items():
        if name.startswith("memory"):
            if "error" in f:
                add(f"   {name:<28}{f['error']}")
                continue
            verdict = "" if "APScheduler" in name else (
                f"   target total RSS <= {TARGETS['rss_mb']:g} MB: " + ("MET" if f["rss_mb"] <= TARGETS["rss_mb"]
                                                                     else "MISSED"))
            add(f"   {name:<28}{f['processes']} processes: RSS {f['rss_mb']:.0f} MB summed, PSS {f['pss_mb']:.0f} MB"
                f"{verdict}")
    add("")
    add("4. Slack acks (/jobs help, one after another), idle and while two worker processes burn both cores")
    for name, f in figures.items():
        if name.startswith("acks"):
            if "error" in f:
                add(f"   {name:<28}{f['error']}")
                continue
            ok = f["busy_p99_ms"] <= TARGETS["ack_p99_ms"]
            add(f"   idle: {f['idle_n']} acks, p50 {f['idle_p50_ms']:.1f} ms, p99 {f['idle_p99_ms']:.1f} ms; "
                f"both cores busy: {f['busy_n']} acks, p50 {f['busy_p50_ms']:.1f} ms, p99 {f['busy_p99_ms']:.1f} ms"
                f"   target p99 <= {TARGETS['ack_p99_ms']:g} ms: {'MET' if ok else 'MISSED'}")
    add("")
    add("Outside load (average cores busy with other processes during each measurement; this machine is shared):")
    add("   " + "; ".join(f"{name} {cores:.2f} ({seconds:.0f} s)" for name, (cores, seconds) in run.outside.items()))
    add(f"Done in {elapsed:.0f} s.")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    parser.add_argument("--postgres-url", help="a PostgreSQL database the benchmark may empty (not 'test')")
    parser.add_argument("--broker-url", default="redis://127.0.0.1:6379/5", help="a Redis database it may flush")
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    parser.add_argument("--only", action="append", default=[], metavar="PREFIX",
                        help="measure only the rows whose label starts so (e.g. 'burst', 'lag Celery'); repeatable")
    for internal in ("--scenario", "--backend", "--workdir", "--url", "--result"):
        parser.add_argument(internal, help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--backlog", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.scenario:
        import logging

        logging.basicConfig(level=logging.WARNING, format="  [child] %(levelname)s %(name)s: %(message)s")
        figures = SCENARIOS[args.scenario](args, QUICK if args.quick else FULL)
        Path(args.result).write_text(json.dumps(figures))
        return 0
    if args.postgres_url and args.postgres_url.rstrip("/").endswith("/test"):
        raise SystemExit("never the database 'test'")
    started = time.perf_counter()
    workdir = Path(tempfile.mkdtemp(prefix="jobgate-exec-bench-"))
    (workdir / "jobs").mkdir()
    (workdir / "jobs" / f"{NOOP_MODULE}.py").write_text(NOOP_SOURCE)
    (workdir / "jobs" / "spin.py").write_text(SPIN_SOURCE)
    run = Run(workdir=workdir, quick=args.quick, postgres_url=args.postgres_url, broker_url=args.broker_url or None,
              only=tuple(args.only))
    figures = measure(run)
    print("\n".join(report(run, figures, time.perf_counter() - started)))
    if args.json:
        args.json.write_text(json.dumps({"quick": args.quick, "figures": figures}, indent=2))
    return 0

if __name__ == "__main__":
    sys.exit(main())
