"""The Celery executor's serving side: pending job results taken to the broker, and the workers as Celery sees them.

``CeleryPublisher`` publishes each pending job result once it is committed (woken by the commit, like the local claim
loop), as a message carrying its id and its time limits. When many are pending at once (a burst of due runs), it puts
several ids in one message (``runs_per_message``): fewer messages, and one claim per message instead of one per run,
while every worker process still gets several messages. Taking a result for publishing is a compare-and-set on
``published_at``, so one replica publishes each. Results pinned to one process (sensitive ones) never go through the
broker. The sweeper publishes again the results still pending long after they were published: a broker that
restarted without its messages, or a serving process that died between taking and publishing them; the worker's
claim makes the copy harmless if the first message was only slow.

A broker outage seen here (a publish or an inspection that failed), or a worker that stopped answering, also makes
the publisher publish again, as soon as the broker answers, every result published before and still pending: the
messages a restarted broker or a killed worker took with it are recovered in seconds rather than after
``redeliver_after``.

``CeleryMonitor`` asks the workers (Celery's remote control) every few seconds what they are running, for
``/healthz``. Must not import Slack or handlers.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from celery import Celery

from bot.executor.celery_app import QUEUE, TASK_NAME, message_ids
from bot.executor.orders import effective_time_limits
from bot.loops import WakeableLoop, shown_error
from storage.db import Database
from storage.repositories import Repositories

log = logging.getLogger(__name__)

BATCH_SIZE = 500
REDELIVER_AFTER = timedelta(minutes=1)
MAX_RUNS_PER_MESSAGE = 50
MESSAGES_PER_PROCESS = 4
"""How many messages each worker process should get at least from one publishing pass, when there are enough runs."""
BACKSTOP_MARGIN = 10.0
"""Seconds added to the sum of the hard limits of a message of several runs: Celery's limit for the message."""


def runs_per_message(pending: int, processes: int) -> int:
    """How many runs go in one message when ``pending`` are published at once to ``processes`` worker processes:
    up to ``MAX_RUNS_PER_MESSAGE``, and few enough that each process gets ``MESSAGES_PER_PROCESS`` messages."""
    return max(1, min(MAX_RUNS_PER_MESSAGE, math.ceil(pending / (MESSAGES_PER_PROCESS * max(1, processes)))))


class PublishError(RuntimeError):
    """The broker did not take a message; the results not published are taken again on the next pass."""


class CeleryPublisher:
    """Publishes pending job results to the Celery broker.

    Args:
        db: the database.
        app: the Celery app (its broker).
        default_time_limit: ``JOBGATE_DEFAULT_TIME_LIMIT``, for jobs whose ``Meta`` sets none.
        clock: where ``now`` comes from.
        redeliver_after: how long a published result may stay pending before the sweeper publishes it again.
        poll: the longest the publishing loop sleeps when nobody wakes it.
        capacity: how many worker processes take messages (the Celery workers' concurrency, as last seen).
    """

    def __init__(
        self,
        db: Database,
        app: Celery,
        *,
        default_time_limit: timedelta,
        clock: Callable[[], datetime],
        redeliver_after: timedelta = REDELIVER_AFTER,
        poll: timedelta = timedelta(seconds=2),
        capacity: Callable[[], int] = lambda: 2,
    ) -> None:
        self.capacity = capacity
        self.db = db
        self.app = app
        self.default_time_limit = default_time_limit
        self.clock = clock
        self.redeliver_after = redeliver_after
        self.poll = poll
        self.loop = WakeableLoop("jobgate-publisher", self._round, retry_after=poll.total_seconds())
        self.published = 0
        self.republished = 0
        self._lock = threading.Lock()
        self._trouble_since: datetime | None = None

    def start(self) -> None:
        self.loop.start()

    def wake(self) -> None:
        self.loop.wake()

    def stop(self) -> None:
        self.loop.stop()

    def messages_may_be_lost(self) -> None:
        """The broker failed, or a worker vanished: once the broker answers, publish again what may have been lost."""
        with self._lock:
            if self._trouble_since is None:
                self._trouble_since = self.clock()
        self.loop.wake()

    def _round(self) -> float:
        with self._lock:
            trouble_since = self._trouble_since
        if trouble_since is not None:
            with self.app.connection_for_write() as connection:
                connection.ensure_connection(max_retries=1)  # raises while the broker is still away
            with self._lock:
                self._trouble_since = None
            count = self._sweep(trouble_since)
            if count:
                log.warning("%d pending runs published again: the broker restarted, or a worker stopped, with their "
                            "messages", count)
        while not self.loop.stopping and self.publish() == BATCH_SIZE:
            pass
        return self.poll.total_seconds()

    def publish(self, *, again_before: datetime | None = None) -> int:
        """Publish one batch of pending results; with ``again_before``, also those lost since. Returns how many.

        Raises:
            PublishError: the broker refused or could not be reached (what was not published is tried again).
        """
        now = self.clock()
        with self.db.write() as session:
            taken = Repositories(session).job_results.take_to_publish(now=now, limit=BATCH_SIZE,
                                                                      again_before=again_before)
        if not taken:
            return 0
        sent = 0
        size = runs_per_message(len(taken), self.capacity())
        try:
            with self.app.producer_or_acquire() as producer:
                for first in range(0, len(taken), size):
                    group = taken[first:first + size]
                    limits = [effective_time_limits(soft_time_limit=item.soft_time_limit, time_limit=item.time_limit,
                                                    default=self.default_time_limit) for item in group]
                    if len(group) == 1:
                        [(soft, hard)] = limits
                        self.app.send_task(TASK_NAME, args=[group[0].id], queue=QUEUE, producer=producer,
                                           time_limit=hard, soft_time_limit=soft, ignore_result=True)
                    else:  # each run's own limits are enforced by the pool process; the message's is a backstop
                        backstop = sum(hard for _, hard in limits) + BACKSTOP_MARGIN
                        self.app.send_task(TASK_NAME, args=[[item.id for item in group]], queue=QUEUE,
                                           producer=producer, time_limit=backstop, ignore_result=True)
                    sent += len(group)
        except Exception as exc:  # a broker outage: give the rest back to the next pass
            self.messages_may_be_lost()
            with self.db.write() as session:
                Repositories(session).job_results.mark_unpublished([item.id for item in taken[sent:]])
            raise PublishError(f"the Celery broker did not take {len(taken) - sent} runs: "
                               f"{type(exc).__name__}: {exc}") from exc
        finally:
            if again_before is None:
                self.published += sent
            else:
                self.republished += sent
        return sent

    def sweep(self) -> int:
        """Publish again every result still pending ``redeliver_after`` after it was published."""
        count = self._sweep(self.clock() - self.redeliver_after)
        if count:
            log.warning("%d pending runs published again: their messages were not taken within %s", count,
                        self.redeliver_after)
        return count

    def _sweep(self, again_before: datetime) -> int:
        total = 0
        while True:
            count = self.publish(again_before=again_before)
            total += count
            if count < BATCH_SIZE:
                return total

    def health(self, *, internals: bool = False) -> dict[str, Any]:
        """A JSON-able report for ``/healthz`` (the last error in full only with ``internals``)."""
        return {"running": self.loop.running, "published": self.published, "republished": self.republished,
                "last_error": shown_error(self.loop.last_error, internals=internals)}


@dataclass(frozen=True, kw_only=True)
class SeenWorker:
    """A Celery worker as the last inspection saw it."""

    name: str
    seen_at: float
    concurrency: int | None
    job_result_ids: tuple[str, ...]


class CeleryMonitor:
    """Asks the Celery workers every ``every`` what they run; shows those that answered the last time.

    Args:
        app: the Celery app (its broker).
        every: how often to ask.
        timeout: how long to wait for the workers' answers.
        on_lost_messages: called when messages may have been lost (the broker could not be reached, or a worker
            seen before no longer answers).
    """

    def __init__(self, app: Celery, *, every: timedelta = timedelta(seconds=10), timeout: float = 1.0,
                 on_lost_messages: Callable[[], None] | None = None) -> None:
        self.app = app
        self.on_lost_messages = on_lost_messages
        self.every = every
        self.timeout = timeout
        self._lock = threading.Lock()
        self._seen: dict[str, SeenWorker] = {}
        self.loop = WakeableLoop("jobgate-celery-monitor", self._look, retry_after=every.total_seconds())

    def start(self) -> None:
        self.loop.start()

    def stop(self) -> None:
        self.loop.stop()

    def _look(self) -> float:
        inspect = self.app.control.inspect(timeout=self.timeout)
        try:
            active: dict[str, list[dict[str, Any]]] = inspect.active() or {}
            stats: dict[str, dict[str, Any]] = inspect.stats() or {}
        except Exception:
            if self.on_lost_messages is not None:
                self.on_lost_messages()
            raise
        now = time.monotonic()
        with self._lock:
            vanished = set(self._seen) - set(active) - set(stats)
            for name in vanished:  # gone (or too busy to answer: then it is seen again next time)
                del self._seen[name]
            for name in set(active) | set(stats):
                pool = stats.get(name, {}).get("pool", {})
                concurrency = pool.get("max-concurrency") if isinstance(pool, dict) else None
                ids = tuple(i for task in active.get(name, []) for i in message_ids(task.get("args")))
                self._seen[name] = SeenWorker(name=name, seen_at=now, concurrency=concurrency, job_result_ids=ids)
        if vanished and self.on_lost_messages is not None:
            log.warning("%d Celery workers stopped answering; the runs they had taken are published again",
                        len(vanished))
            self.on_lost_messages()
        return self.every.total_seconds()

    def capacity(self) -> int:
        """How many pool processes the workers that answered have (0 when none answered yet)."""
        with self._lock:
            return sum(w.concurrency or 0 for w in self._seen.values())

    def workers(self) -> list[SeenWorker]:
        with self._lock:
            return sorted(self._seen.values(), key=lambda w: w.name)
