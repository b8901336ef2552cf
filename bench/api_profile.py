"""Where the time of one REST API approve goes: SQL statements and round trips, the parts of the request, and a
profile of jobgate's own code, on SQLite and PostgreSQL (the set-up of ``bench/api.py``).

It prints, per backend:

1. The SQL statements one ``POST .../approve/`` sends (recorded with SQLAlchemy's ``before_cursor_execute`` and
   ``after_cursor_execute`` events, so an executemany counts once), with the time spent in each; the same count for
   ``GET .../scheduled-jobs/`` and ``POST .../run/``. On PostgreSQL the driver's ``BEGIN`` and ``COMMIT`` are one
   more round trip each and are not listed.
2. The median of each part of an approve, each measured alone over fresh requests: token lookup
   (``Tokens.authenticate``), the decision (``Decisions.approve_scheduled_job``: transaction, outbox, audit),
   rendering (``build_scheduled_job`` and its JSON), and the whole request over HTTP; what is left is the server
   stack (uvicorn, FastAPI's routing and dependencies, the worker-thread hop) and the client.
3. A ``cProfile`` of the in-process parts (authenticate, approve, render) over those requests, by own time.

Run it (about a minute)::

    .venv/bin/python bench/api_profile.py [--requests 200] [--postgres-url URL] [--no-postgres]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from api import (  # bench/api.py, beside this file
    APPROVER,
    DEFAULT_POSTGRES_URL,
    JOB,
    JOBS_MODULE,
    POLICY,
    REQUESTER,
    database,
    pending_requests,
    serving,
    settle,
)
from sqlalchemy import Engine, event

from bot.app import build_core
from bot.config import Settings
from bot.domain.policy_file import parse_policy
from handlers.api_render import build_scheduled_job


@dataclass
class Statements:
    """The SQL statements sent while recording, with the seconds each took (thread-safe enough: appends only)."""

    recording: bool = False
    sent: list[tuple[str, float]] = field(default_factory=list)
    _started: dict[int, float] = field(default_factory=dict)

    def attach(self, engine: Engine) -> None:
        @event.listens_for(engine, "before_cursor_execute")
        def _before(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            if self.recording:
                self._started[threading.get_ident()] = time.perf_counter()

        @event.listens_for(engine, "after_cursor_execute")
        def _after(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            started = self._started.pop(threading.get_ident(), None)
            if self.recording and started is not None:
                self.sent.append((" ".join(statement.split()), time.perf_counter() - started))

    @contextmanager
    def record(self) -> Iterator[list[tuple[str, float]]]:
        self.sent = []
        self.recording = True
        try:
            yield self.sent
        finally:
            self.recording = False


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def each(count: int, call: Callable[[int], object]) -> list[float]:
    """Seconds per call."""
    samples = []
    for index in range(count):
        started = time.perf_counter()
        call(index)
        samples.append(time.perf_counter() - started)
    return samples


def profile(backend: str, *, requests: int, postgres_url: str) -> None:
    with tempfile.TemporaryDirectory(prefix="jobgate-api-profile-") as tmp:
        workdir = Path(tmp)
        jobs = workdir / "jobs"
        jobs.mkdir()
        (jobs / "benchjobs.py").write_text(JOBS_MODULE)
        with database(backend, postgres_url, workdir) as (url, db):
            statements = Statements()
            statements.attach(db.engine)
            settings = Settings(database_url=url, jobs_paths=(jobs,), time_zone="UTC",
                                max_pending_per_user=10 * (4 * requests + 20))
            core = build_core(settings, db=db, policy=parse_policy(POLICY), migrate=False)
            services = core.services
            services.management.sync_jobs()
            services.management.set_job_enabled(JOB, True)
            job_id = services.listings.get_job(JOB).id
            approver_token = services.tokens.create_api_token(user_id=APPROVER.user_id)
            approver = {"Authorization": f"Token {approver_token}"}
            requester = {"Authorization": f"Token {services.tokens.create_api_token(user_id=REQUESTER.user_id)}"}
            tomorrow = datetime.now(UTC) + timedelta(days=1)
            fresh = pending_requests(services, 4 * requests + 20, start=tomorrow)
            settle(db)
            print(f"\n=== {backend} ===")
            with serving(settings, core) as base, httpx.Client(base_url=base, timeout=30) as client:
                def approve_http(index: int) -> None:
                    response = client.post(f"/api/extras/scheduled-jobs/{fresh[index]}/approve/", headers=approver)
                    assert response.status_code == 200, response.text

                for index in range(10):  # warm up
                    approve_http(index)
                with statements.record() as sent:
                    approve_http(10)
                print(f"one approve over HTTP: {len(sent)} SQL statements, "
                      f"{sum(s for _, s in sent) * 1000:.2f} ms in them")
                for sql, seconds in sent:
                    print(f"  {seconds * 1000:6.2f} ms  {sql[:150]}")
                with statements.record() as sent:
                    assert client.get("/api/extras/scheduled-jobs/", headers=approver).status_code == 200
                print(f"one list (50 of {len(fresh)}): {len(sent)} SQL statements")
                body = {"data": {"device": "edge"}, "schedule": {
                    "name": "run", "interval": "future", "start_time": (tomorrow + timedelta(hours=3)).isoformat()}}
                with statements.record() as sent:
                    assert client.post(f"/api/extras/jobs/{job_id}/run/", headers=requester,
                                       json=body).status_code == 201
                print(f"one run-create: {len(sent)} SQL statements")

                base_index = 20
                http = each(requests, lambda i: approve_http(base_index + i))

            base_index += requests
            auth = each(requests, lambda _: services.tokens.authenticate(approver_token))
            approved = []
            decide = each(requests, lambda i: approved.append(services.decisions.approve_scheduled_job(
                actor=APPROVER, scheduled_job_id=fresh[base_index + i])))
            render = each(requests, lambda i: build_scheduled_job(
                approved[i], api_root="http://127.0.0.1/api/").model_dump_json())
            parts = {"token lookup": auth, "approve (transaction)": decide, "render + JSON": render}
            print(f"\nmedian of {requests} approves, each part alone:")
            for name, samples in parts.items():
                print(f"  {name:<24} {median_ms(samples):6.2f} ms")
            rest = median_ms(http) - sum(median_ms(samples) for samples in parts.values())
            print(f"  {'server stack + client':<24} {rest:6.2f} ms  (the HTTP median less the parts above)")
            print(f"  {'whole request over HTTP':<24} {median_ms(http):6.2f} ms")

            base_index += requests
            profiler = cProfile.Profile()
            profiler.enable()
            for i in range(requests):
                actor = services.tokens.authenticate(approver_token)
                record = services.decisions.approve_scheduled_job(actor=actor,
                                                                  scheduled_job_id=fresh[base_index + i])
                build_scheduled_job(record, api_root="http://127.0.0.1/api/").model_dump_json()
            profiler.disable()
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(25)
            print(f"\ncProfile of {requests} in-process approves (authenticate, approve, render), by own time:")
            print("\n".join(line for line in out.getvalue().splitlines()[4:] if line.strip()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200, help="requests per measurement (default 200)")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL, help="PostgreSQL URL (its own schema is used)")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    args = parser.parse_args(argv)
    profile("sqlite", requests=args.requests, postgres_url=args.postgres_url)
    if not args.no_postgres:
        profile("postgresql", requests=args.requests, postgres_url=args.postgres_url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
