"""Dispatch benchmark: jobgate's database-backed scheduler on SQLite and PostgreSQL beside a bare APScheduler 3.11.

What it measures (issue 3, "Benchmark"), each in a fresh subprocess of this script (``--scenario``), so memory and
start-up figures belong to a process that did nothing else and no threads leak from one measurement into the next:

1. **Dispatch lag** (``dispatch_scenarios/lag.py``): 10,000 active schedules, 1,000 of them due at seeded random
   instants in a 20 s window; due time → ``running``, → created, → the job's ``run()`` called.
2. **Burst** (``burst.py``): 10,000 one-off jobs due at the same instant T; T → all exist, all running, all run.
3. **100,000 schedules**: the cost of one dispatch pass with 0 to 1,000 due rows at 10,000 and 100,000 scheduled jobs,
   and the plans of the dispatcher's queries (``passes.py``); then start-up time and memory on that database in a
   fresh process (``startup.py``).

Each has its APScheduler counterpart beside it (memory job store, as many pool threads as jobgate's workers, nothing
dropped). Every scenario reads on its own in ``bench/dispatch_scenarios/`` (what they share in ``common``, the table in
``report``); this module is the driver: it runs each in a child process and prints the table. Rows are written
through the repositories (``ScheduledJobRepository.add_many`` with ``NewScheduledJob`` values as
``request_job`` would store them: no approval needed, enabled, ``next_run_at`` set, interval
``future``/``hourly``, ``time_zone`` UTC), for a no-op job discovered from a temporary jobs folder and enabled through
the services.

Run it (about 3.5 minutes on 2 cores; ``--quick`` is a smoke run with smaller sizes, about 75 s)::

    .venv/bin/python bench/dispatch.py [--quick] [--postgres-admin-url URL] [--no-postgres] [--workers N]
                                       [--json FILE]

``--workers`` sets jobgate's ``Timings.workers`` and APScheduler's pool size together (default 8); ``--json`` also
writes every figure to a file. The hooks the scenarios wrap only append a timestamp and call the original; nothing of
jobgate's is replaced or patched in behaviour.

PostgreSQL: the admin URL (default ``$JOBGATE_BENCH_POSTGRES`` or
``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``) is used only to create and, at the end, drop the database
``jobgate_bench``; every measurement runs in that database. SQLite files live in a temporary folder that is removed
at the end. Progress goes to stderr, the table of figures to stdout. The table ends with the CPU other processes
used during each measurement (from ``/proc/stat`` minus this script's children): tail latencies on a shared machine
are only as quiet as that.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

from dispatch_scenarios.burst import burst_aps, burst_jobgate
from dispatch_scenarios.common import DEFAULT_WORKERS, FULL, NOOP_MODULE, NOOP_SOURCE, QUICK, Scenario
from dispatch_scenarios.lag import lag_aps, lag_jobgate
from dispatch_scenarios.passes import passes_jobgate
from dispatch_scenarios.report import Run, report
from dispatch_scenarios.startup import startup_aps, startup_jobgate
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

BENCH_DATABASE = "jobgate_bench"
DEFAULT_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"

SCENARIOS: dict[tuple[str, str], Scenario] = {
    ("lag", "jobgate"): lag_jobgate,
    ("lag", "apscheduler"): lag_aps,
    ("burst", "jobgate"): burst_jobgate,
    ("burst", "apscheduler"): burst_aps,
    ("passes", "jobgate"): passes_jobgate,
    ("startup", "jobgate"): startup_jobgate,
    ("startup", "apscheduler"): startup_aps,
}


def run_scenario(args: argparse.Namespace) -> int:
    """Child: run one scenario in this (fresh) process and write its figures to ``args.result``."""
    import logging

    logging.basicConfig(level=logging.WARNING, format="  [child] %(levelname)s %(name)s: %(message)s")
    sizes = QUICK if args.quick else FULL
    kind = "apscheduler" if args.backend == "apscheduler" else "jobgate"
    figures = SCENARIOS[(args.scenario, kind)](args, sizes)
    Path(args.result).write_text(json.dumps(figures))
    return 0


# ------------------------------------------------------------------------------------------------------------ parent


@contextmanager
def bench_environment(admin_url: str | None, quick: bool, workers: int) -> Iterator[Run]:
    workdir = Path(tempfile.mkdtemp(prefix="jobgate-bench-"))
    (workdir / "jobs").mkdir()
    (workdir / "jobs" / f"{NOOP_MODULE}.py").write_text(NOOP_SOURCE)
    postgres_url: str | None = None
    skipped: str | None = "--no-postgres" if admin_url is None else None
    admin = None
    if admin_url is not None:
        admin_parsed = make_url(admin_url)
        if admin_parsed.database == BENCH_DATABASE or BENCH_DATABASE == "test":
            raise SystemExit("the admin URL must name another database than the benchmark's own")
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)'))
                connection.execute(text(f'CREATE DATABASE "{BENCH_DATABASE}"'))
            postgres_url = admin_parsed.set(database=BENCH_DATABASE).render_as_string(hide_password=False)
        except Exception as exc:  # no PostgreSQL here: SQLite and APScheduler still run
            skipped = f"PostgreSQL not reachable ({type(exc).__name__})"
            admin.dispose()
            admin = None
    try:
        yield Run(workdir=workdir, quick=quick, workers=workers, postgres_url=postgres_url, postgres_skipped=skipped)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        if admin is not None:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)'))
            admin.dispose()


def machine_busy_s() -> float:
    """CPU seconds every core of this machine has spent busy since boot (/proc/stat)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def child(run: Run, scenario: str, backend: str, url: str = "") -> dict[str, Any]:
    """Run one scenario in a fresh interpreter and return its figures."""
    result = run.workdir / f"{scenario}-{backend}.json"
    command = [sys.executable, str(Path(__file__).resolve()), "--scenario", scenario, "--backend", backend,
               "--workdir", str(run.workdir), "--url", url, "--result", str(result),
               "--workers", str(run.workers), "--spawned-at", repr(time.time())]
    if run.quick:
        command.append("--quick")
    print(f"- {scenario} on {backend} ...", file=sys.stderr, flush=True)
    busy, own = machine_busy_s(), children_cpu_s()
    started = time.perf_counter()
    completed = subprocess.run(command, check=False)
    elapsed = time.perf_counter() - started
    others = max(0.0, (machine_busy_s() - busy) - (children_cpu_s() - own))
    run.outside_load[f"{scenario} {backend}"] = (others / elapsed, elapsed)
    if completed.returncode != 0 or not result.is_file():
        print(f"  failed with exit status {completed.returncode}", file=sys.stderr, flush=True)
        return {"error": f"exit status {completed.returncode}"}
    print(f"  done in {elapsed:.1f} s", file=sys.stderr, flush=True)
    figures: dict[str, Any] = json.loads(result.read_text())
    return figures


def backends(run: Run, database: str) -> list[tuple[str, str, str]]:
    """(label, backend, URL) of each database; on SQLite a file per scenario (``database``), shared when named so."""
    found = [("SQLite", "sqlite", f"sqlite:///{run.workdir / f'{database}.db'}")]
    if run.postgres_url:
        found.append(("PostgreSQL", "postgresql", run.postgres_url))
    return found


def measure(run: Run) -> dict[str, Any]:
    out: dict[str, Any] = {"lag": {}, "burst": {}, "passes": {}, "startup": {}}
    for name, backend, url in backends(run, "lag"):
        out["lag"][name] = child(run, "lag", backend, url)
    out["lag"]["APScheduler"] = child(run, "lag", "apscheduler")
    for name, backend, url in backends(run, "burst"):
        out["burst"][name] = child(run, "burst", backend, url)
    out["burst"]["APScheduler"] = child(run, "burst", "apscheduler")
    for name, backend, url in backends(run, "large"):
        out["passes"][name] = child(run, "passes", backend, url)  # leaves the large database for start-up
        out["startup"][name] = child(run, "startup", backend, url)
    out["startup"]["APScheduler"] = child(run, "startup", "apscheduler")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    parser.add_argument("--postgres-admin-url", default=os.environ.get("JOBGATE_BENCH_POSTGRES", DEFAULT_ADMIN_URL),
                        help="a PostgreSQL URL allowed to create and drop the database jobgate_bench")
    parser.add_argument("--no-postgres", action="store_true", help="measure SQLite and APScheduler only")
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    # Internal: one scenario in this (fresh) process.
    parser.add_argument("--scenario", help=argparse.SUPPRESS)
    parser.add_argument("--backend", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    parser.add_argument("--spawned-at", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS,
                        help=f"jobgate's Timings.workers and APScheduler's pool size (default {DEFAULT_WORKERS})")
    args = parser.parse_args()
    if args.scenario:
        return run_scenario(args)

    started = time.perf_counter()
    admin_url = None if args.no_postgres else args.postgres_admin_url
    with bench_environment(admin_url, args.quick, args.workers) as run:
        figures = measure(run)
        lines = report(run, figures, time.perf_counter() - started)
    print("\n".join(lines))
    if args.json:
        args.json.write_text(json.dumps({"quick": args.quick, "sizes": asdict(QUICK if args.quick else FULL),
                                         "figures": figures}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
