"""``GET /metrics``: what a jobgate process measures, in Prometheus text format (``prometheus_client``).

Each process (each app built in a test, too) has its own registry, never the library's global one. Counters and
histograms are fed as things happen: runs as their outcomes are recorded by this process's executor, Slack Web API
failures as its clients see them. Gauges are read at scrape time: pending approvals and the outbox from the database
(two small indexed aggregate queries), worker processes from the executor's own state. This is wiring: it may import
anything but Slack.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from bot.domain.errors import DatabaseUnavailableError
from storage.db import Database
from storage.repositories.metrics import MetricsRepository

log = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
"""The media type of the Prometheus text format (0.0.4), which every Prometheus server reads."""

LAG_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)
DURATION_BUCKETS = (0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0, 4 * 3600.0)
MAX_WAITING = 100_000
"""Recorded runs waiting to be counted at the next scrape; beyond that the oldest are dropped (nobody scrapes)."""


@dataclass(frozen=True)
class WorkerCounts:
    """Worker processes as the executor knows them.

    Attributes:
        executor: ``local`` or ``celery``.
        alive: processes running (local) or pool processes of Celery workers seen recently (celery).
        busy: of those, how many are running a job.
    """

    executor: str
    alive: int
    busy: int


class Metrics:
    """The metrics of one jobgate process, in a registry of its own.

    Args:
        db: the database the scrape-time gauges are read from.
        clock: where ``now`` comes from (the age of the oldest pending approval).
    """

    def __init__(self, db: Database, *, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.db = db
        self.clock = clock
        self.registry = CollectorRegistry(auto_describe=True)
        self.dispatch_lag = Histogram(
            "jobgate_dispatch_lag_seconds",
            "Seconds from a run's due time (or its request, for runs asked for now) to a worker process starting it.",
            buckets=LAG_BUCKETS, registry=self.registry,
        )
        self.runs = Counter(
            "jobgate_runs", "Runs recorded by this process, by job, status (completed, failed, errored) and dry run.",
            ["job", "status", "dry_run"], registry=self.registry,
        )
        self.run_duration = Histogram(
            "jobgate_run_duration_seconds", "How long runs took, from start to end, by job.",
            ["job"], buckets=DURATION_BUCKETS, registry=self.registry,
        )
        self.slack_errors = Counter(
            "jobgate_slack_api_errors", "Slack Web API calls that failed, by method and Slack's error code "
            "(or http_NNN, or connection).", ["method", "error"], registry=self.registry,
        )
        self.slack_rate_limited = Counter(
            "jobgate_slack_api_rate_limited", "Slack Web API calls answered 429 (rate limited), by method.",
            ["method"], registry=self.registry,
        )
        self._workers: Callable[[], Iterable[WorkerCounts]] | None = None
        self._recorded: deque[str] = deque(maxlen=MAX_WAITING)
        self._lock = threading.Lock()
        self.registry.register(_DatabaseGauges(self))

    # --------------------------------------------------------------------------------------------------- feeding

    def runs_recorded(self, job_result_ids: Iterable[str]) -> None:
        """Runs whose outcomes this process just recorded; counted at the next scrape (never blocks, no SQL)."""
        self._recorded.extend(job_result_ids)

    def slack_call_failed(self, method: str, *, status: int, error: str | None) -> None:
        """A Web API call that Slack refused or that did not reach it (``status`` 0)."""
        if status == 429 or error in ("ratelimited", "rate_limited"):
            self.slack_rate_limited.labels(method=method).inc()
        code = error or (f"http_{status}" if status else "connection")
        self.slack_errors.labels(method=method, error=code).inc()

    def watch_workers(self, source: Callable[[], Iterable[WorkerCounts]]) -> None:
        """Where the worker-process gauges are read from at scrape time."""
        self._workers = source

    # --------------------------------------------------------------------------------------------------- scraping

    def render(self) -> bytes:
        """Everything, in the Prometheus text format."""
        with self._lock:  # two scrapes at once must not count the same runs twice
            self._count_recorded()
            return generate_latest(self.registry)

    def _count_recorded(self) -> None:
        ids: list[str] = []
        while self._recorded and len(ids) < 1000:
            ids.append(self._recorded.popleft())
        while ids:
            try:
                with self.db.read() as session:
                    runs = MetricsRepository(session).finished_runs(ids)
            except DatabaseUnavailableError:
                self._recorded.extendleft(reversed(ids))  # counted at a later scrape
                return
            for run in runs:
                self.runs.labels(job=run.job, status=run.status, dry_run=str(run.dry_run).lower()).inc()
                if run.started_at is not None:
                    self.dispatch_lag.observe(max(0.0, (run.started_at - run.due_at).total_seconds()))
                    if run.completed_at is not None:
                        self.run_duration.labels(job=run.job).observe(
                            max(0.0, (run.completed_at - run.started_at).total_seconds()))
            ids = []
            while self._recorded and len(ids) < 1000:
                ids.append(self._recorded.popleft())

    def workers(self) -> list[WorkerCounts]:
        return list(self._workers()) if self._workers is not None else []


class _DatabaseGauges(Collector):
    """The gauges read at scrape time; when the database is unreachable they are left out and ``jobgate_database_up``
    says 0."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def describe(self) -> Iterable[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        metrics = self.metrics
        up = GaugeMetricFamily("jobgate_database_up", "1 when the database answered this scrape, else 0.")
        try:
            with metrics.db.read() as session:
                repository = MetricsRepository(session)
                pending, oldest = repository.pending_approvals()
                backlog = repository.outbox_backlog()
        except DatabaseUnavailableError:
            up.add_metric([], 0)
            yield up
        else:
            up.add_metric([], 1)
            yield up
            yield GaugeMetricFamily("jobgate_pending_approvals", "Scheduled jobs waiting for an approval decision.",
                                    value=pending)
            age = max(0.0, (metrics.clock() - oldest).total_seconds()) if oldest is not None else 0.0
            yield GaugeMetricFamily("jobgate_oldest_pending_approval_age_seconds",
                                    "Seconds the oldest request still waiting for approval has waited (0: none).",
                                    value=age)
            outbox = GaugeMetricFamily("jobgate_outbox_backlog",
                                       "Notifications not yet delivered to Slack, per channel, user or user group.",
                                       labels=["channel"])
            for channel, count in sorted(backlog.items()):
                outbox.add_metric([channel], count)
            yield outbox
        alive = GaugeMetricFamily("jobgate_worker_processes", "Worker processes alive (local: supervised by this "
                                  "process; celery: pool processes of the Celery workers seen recently).",
                                  labels=["executor"])
        busy = GaugeMetricFamily("jobgate_worker_processes_busy", "Worker processes running a job.",
                                 labels=["executor"])
        try:
            counts = metrics.workers()
        except Exception:  # a scrape must still be answered
            log.exception("/metrics could not read the worker processes' state")
            counts = []
        for workers in counts:
            alive.add_metric([workers.executor], workers.alive)
            busy.add_metric([workers.executor], workers.busy)
        yield alive
        yield busy
