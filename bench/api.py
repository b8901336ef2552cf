"""REST API benchmark: p50/p95 latency of the Nautobot-compatible endpoints on SQLite and PostgreSQL, beside Nautobot
1.6's figures (issue 5, "Benchmark").

What it measures, over real HTTP (one keep-alive ``httpx`` client, one request at a time), against the app
``jobgate serve`` builds (``bot.app.build_app`` with ``handlers.api.install``) on real services over a real database.
The server runs in a process of its own, as ``jobgate serve`` runs: a child process (``multiprocessing``, spawned,
not forked) opens the database, loads the jobs, builds the app, freezes the start-up objects out of the garbage
collector as ``serve`` does, and runs uvicorn on a free port of 127.0.0.1; the benchmark process sends the requests.
Client and server thus never share an interpreter lock, as with Nautobot, whose figures below were also measured
with a separate client against its server. The set-up (tokens, requests to approve or list, ``ANALYZE``) is done by
the benchmark process through ``Services`` on the same database, outside the timing.

1. ``GET /api/extras/scheduled-jobs/`` with 200 scheduled jobs listed: the default page (50 of 200) and ``limit=200``.
2. ``POST /api/extras/scheduled-jobs/{id}/approve/`` on fresh pending requests (one per iteration; each request is
   created beforehand, outside the timing, through ``Services.request_job``).
3. ``POST /api/extras/jobs/{id}/run/`` creating a ``future`` scheduled job (of an approval-required job, so each
   request also writes its approval notifications to the outbox).

Each measurement is preceded by a few untimed warm-up requests, and on PostgreSQL by an ``ANALYZE`` after the bulk
set-up (the statistics autovacuum would soon have). The background loops (scheduler, runner, notifier)
are not started: the figures are the API's own cost. Authentication is a real token (``Authorization: Token ...``).

Nautobot 1.6 with PostgreSQL on this machine (medians): approve 18.2 ms, list (50 of 200) 80.8 ms, run-create
2,045 ms. For list (200) only an older figure exists, measured on another machine of the same kind (runserver,
PostgreSQL, Celery): 273 ms median / 487 ms p95; the table marks it. Targets, on PostgreSQL: 5x faster than Nautobot on
approve and list, 50x on run-create.

Run it (about a minute)::

    .venv/bin/python bench/api.py [--iterations 300] [--postgres-url URL] [--no-postgres]

PostgreSQL: the URL (default ``postgresql+psycopg://postgres@127.0.0.1:5432/test``) is used with its own schema,
``jobgate_api_bench`` (``search_path``), dropped and recreated at the start and dropped at the end, so the tables of
anything else in that database (the test suite's) are never touched. SQLite runs in a temporary file.
"""

from __future__ import annotations

import argparse
import gc
import multiprocessing
import platform
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import uvicorn
from sqlalchemy import text

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from bot.app import Core, build_app, build_core  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.domain.permissions import Actor  # noqa: E402
from bot.domain.policy_file import parse_policy  # noqa: E402
from bot.services import ScheduleInput, Services  # noqa: E402
from handlers.api import install  # noqa: E402
from storage.db import Database, upgrade  # noqa: E402

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BENCH_SCHEMA = "jobgate_api_bench"
LISTED_ROWS = 200
WARM_UP = 10

JOBS_MODULE = '''
from bot.jobs import Job, StringVar


class RebootDevice(Job):
    class Meta:
        name = "Reboot device"
        approval_required = True
        has_sensitive_variables = False

    device = StringVar()

    def run(self, data, commit):
        self.log_info(message=data["device"])
'''

POLICY = """
admins: [UADMIN]
groups:
  netops: [UREQUESTER]
  approvers: [UAPPROVER]
permissions:
  - name: netops run
    actions: [run, view]
    object_types: [extras.job]
    groups: [netops, approvers]
  - name: netops see schedules
    actions: [view]
    object_types: [extras.scheduledjob, extras.jobresult]
    groups: [netops]
  - name: approvers approve
    actions: [approve]
    object_types: [extras.job]
    groups: [approvers]
  - name: approvers manage schedules
    actions: [view, change, delete]
    object_types: [extras.scheduledjob, extras.jobresult]
    groups: [approvers]
"""

REQUESTER = Actor(user_id="UREQUESTER")
APPROVER = Actor(user_id="UAPPROVER")
JOB = "benchjobs.RebootDevice"


@dataclass(frozen=True)
class Reference:
    """Nautobot 1.6's figure for one operation and the speed-up jobgate aims for."""

    p50_ms: float
    p95_ms: float | None
    speedup: int
    older: bool = False
    """Measured earlier on another machine, not on this one."""


REFERENCE = {
    "approve": Reference(18.2, None, 5),
    "list (50 of 200)": Reference(80.8, None, 5),
    "list (200)": Reference(273, 487, 5, older=True),
    "run-create": Reference(2045, None, 50),
}


@dataclass(frozen=True)
class Figure:
    backend: str
    operation: str
    p50_ms: float
    p95_ms: float
    samples: int


def percentile(samples: list[float], fraction: float) -> float:
    """The ``fraction`` quantile of the samples (linear interpolation between closest ranks)."""
    ordered = sorted(samples)
    position = (len(ordered) - 1) * fraction
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def timed(iterations: int, call: Callable[[int], httpx.Response], expect: int) -> list[float]:
    """Milliseconds per call, after ``WARM_UP`` untimed calls; every answer must have status ``expect``."""
    samples = []
    for index in range(-WARM_UP, iterations):
        started = time.perf_counter()
        response = call(index)
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != expect:
            raise SystemExit(f"unexpected {response.status_code} from {response.request.url}: {response.text[:300]}")
        if index >= 0:
            samples.append(elapsed)
    return samples


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(settings: Settings, core: Core) -> Iterator[str]:
    """The API under uvicorn in a thread of this process on 127.0.0.1 (for profiling it); yields its base URL."""
    app = build_app(settings=settings, services=core.services, db=core.db, installers=(install,))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False,
                                           lifespan="on"))
    thread = threading.Thread(target=server.run, name="bench-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise SystemExit("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)


def _serve_process(database_url: str, connect_args: dict[str, str], jobs_path: str, max_pending: int,
                   port: int) -> None:
    """The server process: the app ``jobgate serve`` builds, on the benchmark's database, under uvicorn."""
    settings = Settings(database_url=database_url, jobs_paths=(Path(jobs_path),), time_zone="UTC",
                        max_pending_per_user=max_pending)
    db = Database.from_url(database_url, connect_args=connect_args) if connect_args else Database.from_url(database_url)
    core = build_core(settings, db=db, policy=parse_policy(POLICY), migrate=False)
    core.services.management.sync_jobs()
    app = build_app(settings=settings, services=core.services, db=core.db, installers=(install,))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False,
                                           lifespan="on"))
    gc.collect()
    gc.freeze()
    server.run()


@contextmanager
def serving_process(settings: Settings, connect_args: dict[str, str]) -> Iterator[str]:
    """The API under uvicorn in a process of its own on 127.0.0.1; yields its base URL once it answers."""
    port = free_port()
    process = multiprocessing.get_context("spawn").Process(
        target=_serve_process, name="bench-server", daemon=True,
        args=(settings.database_url, connect_args, str(settings.jobs_paths[0]), settings.max_pending_per_user, port))
    process.start()
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or not process.is_alive():
                raise SystemExit("the server process did not start")
            time.sleep(0.05)
        yield base
    finally:
        process.terminate()  # SIGTERM: uvicorn shuts down gracefully
        process.join(timeout=20)
        if process.is_alive():
            process.kill()
            process.join()


def connect_args_of(backend: str) -> dict[str, str]:
    """What the server process needs to open the benchmark's database as the benchmark does."""
    return {"options": f"-csearch_path={BENCH_SCHEMA}"} if backend == "postgresql" else {}


@contextmanager
def database(backend: str, postgres_url: str, workdir: Path) -> Iterator[tuple[str, Database]]:
    """A fresh, migrated database: a SQLite file, or the bench schema in PostgreSQL (dropped afterwards)."""
    if backend == "sqlite":
        url = f"sqlite:///{workdir / 'bench.db'}"
        db = Database.from_url(url)
        upgrade(db.engine)
        try:
            yield url, db
        finally:
            db.dispose()
        return
    admin = Database.from_url(postgres_url)
    with admin.engine.begin() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {BENCH_SCHEMA} CASCADE"))
        connection.execute(text(f"CREATE SCHEMA {BENCH_SCHEMA}"))
    db = Database.from_url(postgres_url, connect_args=connect_args_of("postgresql"))
    upgrade(db.engine)
    try:
        yield postgres_url, db
    finally:
        db.dispose()
        with admin.engine.begin() as connection:
            connection.execute(text(f"DROP SCHEMA IF EXISTS {BENCH_SCHEMA} CASCADE"))
        admin.dispose()


def pending_requests(services: Services, count: int, *, start: datetime) -> list[str]:
    """Create ``count`` pending requests (``future``, a day ahead) and return their ids."""
    ids = []
    for n in range(count):
        outcome = services.requests.request_job(
            actor=REQUESTER, job=JOB, data={"device": f"core-{n}"},
            schedule=ScheduleInput(interval="future", name=f"reboot {n}", start_time=start + timedelta(seconds=n)),
        )
        assert outcome.scheduled_job is not None
        ids.append(outcome.scheduled_job.id)
    return ids


def settle(db: Database) -> None:
    """Refresh the planner's statistics after the bulk set-up, as autovacuum would soon do (a steady state)."""
    if db.is_postgresql:
        with db.engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))


def measure(backend: str, *, iterations: int, postgres_url: str) -> list[Figure]:
    """Every measurement on one backend."""
    with tempfile.TemporaryDirectory(prefix="jobgate-api-bench-") as tmp:
        workdir = Path(tmp)
        jobs = workdir / "jobs"
        jobs.mkdir()
        (jobs / "benchjobs.py").write_text(JOBS_MODULE)
        with database(backend, postgres_url, workdir) as (url, db):
            # One requester has every request of the set-up waiting: no per-person limit here.
            settings = Settings(database_url=url, jobs_paths=(jobs,), time_zone="UTC",
                                max_pending_per_user=10 * (LISTED_ROWS + iterations + WARM_UP))
            core = build_core(settings, db=db, policy=parse_policy(POLICY), migrate=False)
            services = core.services
            services.management.sync_jobs()
            services.management.set_job_enabled(JOB, True)
            job_id = services.listings.get_job(JOB).id
            requester = {"Authorization": f"Token {services.tokens.create_api_token(user_id=REQUESTER.user_id)}"}
            approver = {"Authorization": f"Token {services.tokens.create_api_token(user_id=APPROVER.user_id)}"}
            tomorrow = datetime.now(UTC) + timedelta(days=1)
            figures = []

            def figure(operation: str, samples: list[float]) -> None:
                figures.append(Figure(backend, operation, statistics.median(samples), percentile(samples, 0.95),
                                      len(samples)))
                print(f"  {backend:<10} {operation:<18} p50 {figures[-1].p50_ms:7.2f} ms  "
                      f"p95 {figures[-1].p95_ms:7.2f} ms", file=sys.stderr)

            with serving_process(settings, connect_args_of(backend)) as base, \
                    httpx.Client(base_url=base, timeout=30) as client:
                pending_requests(services, LISTED_ROWS, start=tomorrow)
                settle(db)
                listing = "/api/extras/scheduled-jobs/"
                assert client.get(listing, headers=approver).json()["count"] == LISTED_ROWS
                figure("list (50 of 200)", timed(iterations, lambda _: client.get(listing, headers=approver), 200))
                figure("list (200)", timed(iterations, lambda _: client.get(f"{listing}?limit=200",
                                                                            headers=approver), 200))

                fresh = pending_requests(services, iterations + WARM_UP, start=tomorrow + timedelta(hours=1))
                settle(db)

                def approve(index: int) -> httpx.Response:
                    return client.post(f"/api/extras/scheduled-jobs/{fresh[index + WARM_UP]}/approve/",
                                       headers=approver)

                figure("approve", timed(iterations, approve, 200))

                def run(index: int) -> httpx.Response:
                    body = {"data": {"device": f"edge-{index}"}, "schedule": {
                        "name": f"run {index}", "interval": "future",
                        "start_time": (tomorrow + timedelta(hours=2, seconds=index + WARM_UP)).isoformat()}}
                    return client.post(f"/api/extras/jobs/{job_id}/run/", headers=requester, json=body)

                figure("run-create", timed(iterations, run, 201))
            return figures


def report(figures: list[Figure]) -> str:
    """The table of figures beside Nautobot 1.6's, with the targets."""
    lines = [
        f"jobgate REST API latency ({platform.python_implementation()} {platform.python_version()}, "
        f"{platform.machine()}, client and server in separate processes, one keep-alive client)",
        "",
        f"{'operation':<18} {'backend':<10} {'p50 ms':>8} {'p95 ms':>8}   {'Nautobot p50/p95':>22}   "
        f"{'target p50/p95':>15}   {'speed-up p50':>12}  met",
    ]
    for operation, reference in REFERENCE.items():
        for found in (f for f in figures if f.operation == operation):
            nautobot = (f"{reference.p50_ms:g}" + (f" / {reference.p95_ms:g}" if reference.p95_ms else "")
                        + (" (older)" if reference.older else ""))
            target_p50 = reference.p50_ms / reference.speedup
            target_p95 = reference.p95_ms / reference.speedup if reference.p95_ms else None
            target = f"{target_p50:.1f}" + (f" / {target_p95:.1f}" if target_p95 else "")
            met = found.p50_ms <= target_p50 and (target_p95 is None or found.p95_ms <= target_p95)
            lines.append(
                f"{operation:<18} {found.backend:<10} {found.p50_ms:8.2f} {found.p95_ms:8.2f}   {nautobot:>22}   "
                f"{target:>15}   {reference.p50_ms / found.p50_ms:11.0f}x  {'yes' if met else 'NO'}"
            )
    lines.append("")
    lines.append("Nautobot 1.6 + PostgreSQL measured on this machine; (older): measured earlier on another machine.")
    lines.append("Targets: at least 5x faster than Nautobot 1.6 on approve and list, 50x on run-create, on PostgreSQL.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=300, help="timed requests per operation (default 300)")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL, help="PostgreSQL URL (its own schema is used)")
    parser.add_argument("--no-postgres", action="store_true", help="measure SQLite only")
    args = parser.parse_args(argv)
    if args.iterations < 20:
        parser.error("--iterations must be at least 20 for a meaningful p95")
    figures = measure("sqlite", iterations=args.iterations, postgres_url=args.postgres_url)
    if not args.no_postgres:
        figures += measure("postgresql", iterations=args.iterations, postgres_url=args.postgres_url)
    print(report(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
