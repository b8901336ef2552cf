"""The group commit: run reports recorded in batches, one transaction every few milliseconds.

Reports arrive one by one (from the worker pool's supervisor, or refused runs from the claim loop); the committer
thread waits a few milliseconds for more, then records all of them in one transaction (outcomes, their log lines and
the requesters' notifications), each outcome only if this runner still holds its job result. A report waits in
memory until its transaction commits: if the database is unreachable (an outage, a lock held too long) the batch is
tried again, in order, with a growing back-off (``RETRY_FIRST`` doubling up to ``RETRY_MAX``), for as long as it
takes; meanwhile ``pending_ids`` keeps the runs' leases renewed and spares them from this process's reaper, and the
claim loop stops claiming once ``MAX_UNRECORDED`` reports wait (the memory they hold stays bounded). If the process
dies first, the run stays ``running`` under this runner's id and is marked interrupted by the reaper (at once by a
restarted server on the same host, else when the lease expires) — never recorded twice, never run twice.
Must not import Slack or handlers.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import datetime

from bot.executor.orders import RunReport
from bot.executor.runs import record_outcomes
from storage.db import Database
from storage.repositories import Repositories

log = logging.getLogger(__name__)

GROUP_DELAY = 0.004
"""How long the first report of a batch waits for others (seconds)."""
MAX_BATCH = 500
RETRY_FIRST = 0.05
"""The first wait before a failed batch is written again (seconds); it doubles with each failure in a row."""
RETRY_MAX = 2.0
"""The longest wait between two attempts (seconds)."""
MAX_UNRECORDED = 5_000
"""Reports waiting to be recorded beyond which no more runs are claimed (``GroupCommitter.backlog``)."""


class GroupCommitter:
    """Records run reports in batches, in its own thread.

    Args:
        db: the database.
        runner_id: the runner whose claims the reports end (outcomes of runs it no longer holds are dropped).
        clock: when notifications are written.
        on_recorded: called after each commit with each report of the batch and whether its outcome was recorded.
        delay: how long a batch waits for more reports before it is written.
        max_batch: the most reports in one transaction.
    """

    def __init__(
        self,
        db: Database,
        *,
        runner_id: str,
        clock: Callable[[], datetime],
        on_recorded: Callable[[list[tuple[RunReport, bool]]], None] | None = None,
        delay: float = GROUP_DELAY,
        max_batch: int = MAX_BATCH,
    ) -> None:
        self.db = db
        self.runner_id = runner_id
        self.clock = clock
        self.on_recorded = on_recorded
        self.delay = delay
        self.max_batch = max_batch
        self._queue: deque[tuple[RunReport, str | None]] = deque()
        self._writing: list[str] = []
        self._changed = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self.recorded = 0
        self.commits = 0
        self.last_error: str | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="jobgate-group-commit", daemon=True)
        self._thread.start()

    def submit(self, report: RunReport, user_id: str | None) -> None:
        """Queue a report (thread-safe, never blocks on the database)."""
        with self._changed:
            self._queue.append((report, user_id))
            self._changed.notify()

    def pending_ids(self) -> list[str]:
        """The job results whose reports wait to be recorded (their leases must be kept alive)."""
        with self._changed:
            return [report.job_result_id for report, _ in self._queue] + list(self._writing)

    @property
    def backlog(self) -> int:
        """How many reports wait to be recorded (queued or being written)."""
        with self._changed:
            return len(self._queue) + len(self._writing)

    def flush(self, timeout: float) -> bool:
        """Wait until every report submitted so far is recorded; False if that took longer than ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while self._queue or self._writing:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(remaining)
        return True

    def stop(self, timeout: float = 10) -> None:
        """Record what is queued (within ``timeout``), then end the thread."""
        self.flush(timeout)
        with self._changed:
            self._stopping = True
            self._changed.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        retry_after = RETRY_FIRST
        while True:
            with self._changed:
                while not self._queue and not self._stopping:
                    self._changed.wait()
                if not self._queue and self._stopping:
                    return
            if len(self._queue) < self.max_batch:
                time.sleep(self.delay)  # let the reports finishing around now join this transaction
            with self._changed:
                batch = [self._queue.popleft() for _ in range(min(len(self._queue), self.max_batch))]
                self._writing = [report.job_result_id for report, _ in batch]
            try:
                recorded = self._write(batch)
            except Exception as exc:  # the database is unreachable: keep the reports, try again shortly
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.warning("recording %d run outcomes failed (%s); trying again in %.2f s", len(batch),
                            self.last_error, retry_after)
                with self._changed:
                    self._queue.extendleft(reversed(batch))
                    self._writing = []
                    self._changed.notify_all()
                time.sleep(retry_after)
                retry_after = min(RETRY_MAX, retry_after * 2)
                continue
            retry_after = RETRY_FIRST
            self.last_error = None
            with self._changed:
                self._writing = []
                self.recorded += len(recorded)
                self.commits += 1
                self._changed.notify_all()
            if self.on_recorded is not None:
                try:
                    self.on_recorded([(report, report.job_result_id in recorded) for report, _ in batch])
                except Exception:  # a failing listener must not stop the recording
                    log.exception("after recording run outcomes")

    def _write(self, batch: list[tuple[RunReport, str | None]]) -> set[str]:
        with self.db.write() as session:
            return record_outcomes(Repositories(session), batch, runner_id=self.runner_id, now=self.clock())
