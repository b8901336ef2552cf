"""The background work of ``jobgate serve``: dispatcher, runner, reaper, heartbeat and notifier, with their lifecycle.

The dispatcher and the runner are event-driven loops (woken by in-process commits and, on PostgreSQL, by
``LISTEN/NOTIFY``; polling is the safety net). APScheduler 3 (memory job store only) is the timer for the periodic
upkeep: lease heartbeats, the reaper and time limits. This is wiring: it may import anything.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler

from bot.app import Lifecycle
from bot.loops import WakeableLoop
from bot.runner import DEFAULT_LEASE, Runner
from bot.scheduler import Dispatcher, DispatchLoop
from storage.notify import WakeupListener

if TYPE_CHECKING:  # the notifier imports Slack; a server without Slack never loads it
    from bot.app import Core
    from bot.notifier import Notifier

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class Timings:
    """How often things happen. The defaults suit production; tests shorten them."""

    poll: timedelta = timedelta(seconds=5)
    runner_poll: timedelta = timedelta(seconds=2)
    lease: timedelta = DEFAULT_LEASE
    reap_every: timedelta = timedelta(seconds=5)
    limits_every: timedelta = timedelta(seconds=0.5)
    shutdown_grace: timedelta = timedelta(seconds=30)
    workers: int = 8


class RunnerLoop(WakeableLoop):
    """Claims work for the runner whenever it is woken (new work, a finished run) or every ``poll``."""

    def __init__(self, runner: Runner, *, poll: timedelta) -> None:
        super().__init__("jobgate-runner", self._claim, retry_after=poll.total_seconds())
        self.runner = runner
        self.poll = poll

    def _claim(self) -> float:
        while self.runner.claim_and_start() and not self.stopping:
            pass
        return self.poll.total_seconds()


class Background(Lifecycle):
    """Everything ``jobgate serve`` runs beside the HTTP server.

    Args:
        core: the process's parts (database, catalog, sensitive-data hand-over, wake-ups, settings).
        scheduler_enabled: False for a web-only replica: nothing runs on a clock, and the runner only takes the
            sensitive runs pinned to this process.
        notifier: delivers the outbox to Slack, when Slack is configured.
        timings: loop and lease timings.
        clock: where ``now`` comes from.
    """

    def __init__(
        self,
        core: Core,
        *,
        scheduler_enabled: bool = True,
        notifier: Notifier | None = None,
        timings: Timings | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.core = core
        self.scheduler_enabled = scheduler_enabled
        self.notifier = notifier
        self.timings = timings or Timings()
        t = self.timings
        self.runner = Runner(
            core.db, core.catalog, runner_id=core.handover.runner_id, transient=core.handover,
            workers=t.workers, lease=t.lease, clock=clock, on_finished=self._run_finished,
            pinned_only=not scheduler_enabled,
        )
        self.runner_loop = RunnerLoop(self.runner, poll=t.runner_poll)
        self.dispatch_loop: DispatchLoop | None = None
        if scheduler_enabled:
            dispatcher = Dispatcher(core.db, grace=core.settings.misfire_grace, clock=clock)
            self.dispatch_loop = DispatchLoop(dispatcher, poll=t.poll, on_dispatched=self.runner_loop.wake)
        self.listener: WakeupListener | None = None
        if scheduler_enabled and core.db.is_postgresql:
            self.listener = WakeupListener(core.settings.database_url, self._wake_all)
        self.timer = BackgroundScheduler(executors={"default": ThreadPoolExecutor(3)}, timezone=UTC)
        self.started_at: datetime | None = None
        core.wakeups.add(self._wake_all)
        if notifier is not None:
            core.wakeups.add(notifier.wake)

    def _wake_all(self) -> None:
        if self.dispatch_loop is not None:
            self.dispatch_loop.wake()
        self.runner_loop.wake()

    def _run_finished(self) -> None:
        self.runner_loop.wake()
        if self.notifier is not None:
            self.notifier.wake()

    # --------------------------------------------------------------------------------------------------- lifecycle

    def start(self) -> None:
        t = self.timings
        self.started_at = datetime.now(UTC)
        self.runner.reap_dead_local()
        self.runner.reap()
        options: dict[str, Any] = {"coalesce": True, "max_instances": 1, "misfire_grace_time": None}
        self.timer.add_job(self._safely(self.runner.heartbeat), "interval", seconds=t.lease.total_seconds() / 3,
                           id="heartbeat", name="lease heartbeat", **options)
        self.timer.add_job(self._safely(self.runner.enforce_time_limits), "interval",
                           seconds=t.limits_every.total_seconds(), id="time_limits", name="time limits", **options)
        self.timer.add_job(self._safely(self._reap), "interval", seconds=t.reap_every.total_seconds(), id="reaper",
                           name="reaper", **options)
        self.timer.start()
        self.runner_loop.start()
        if self.dispatch_loop is not None:
            self.dispatch_loop.start()
        if self.listener is not None:
            self.listener.start()
        if self.notifier is not None:
            self.notifier.start()
        log.info("background started: scheduler %s, %d workers, runner %s",
                 "on" if self.scheduler_enabled else "off (web-only replica)", t.workers, self.runner.runner_id)

    def stop(self) -> None:
        """Stop claiming, let running jobs finish within the grace period, record the rest as interrupted."""
        if self.dispatch_loop is not None:
            self.dispatch_loop.stop()
        if self.listener is not None:
            self.listener.stop()
        self.runner_loop.stop()
        released = self.runner.shutdown(self.timings.shutdown_grace)
        if released:
            log.warning("%d running jobs did not finish within the grace period; recorded as interrupted", released)
        self.timer.shutdown(wait=False)
        if self.notifier is not None:
            self.notifier.stop()
        log.info("background stopped")

    def _reap(self) -> None:
        self.runner.reap_dead_local()
        self.runner.reap()

    @staticmethod
    def _safely(task: Callable[[], object]) -> Callable[[], None]:
        def run() -> None:
            try:
                task()
            except Exception:  # upkeep retries on its next tick; it must never kill the timer
                log.exception("background task %s failed", getattr(task, "__name__", task))

        return run

    def health(self) -> dict[str, Any]:
        loop = self.dispatch_loop
        report: dict[str, Any] = {
            "scheduler": {
                "enabled": self.scheduler_enabled,
                "running": bool(loop and loop.running),
                "passes": loop.passes if loop else 0,
                "last_pass_at": loop.last_pass_at.isoformat() if loop and loop.last_pass_at else None,
                "last_error": loop.last_error if loop else None,
                "listening": bool(self.listener and self.listener.connected),
            },
            "runner": {
                "id": self.runner.runner_id,
                "running": self.runner_loop.running,
                "workers": self.runner.workers,
                "busy": self.runner.busy,
                "completed": self.runner.completed,
                "last_error": self.runner_loop.last_error,
            },
        }
        report["notifier"] = self.notifier.health() if self.notifier else {"enabled": False}
        return report
