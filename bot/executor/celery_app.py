"""The Celery executor's Celery side: the app, the one task, and how Celery's limits and lost workers reach jobgate.

``jobgate serve`` hands each due run to Celery as a message carrying only its job result id (and the run's time
limits, as Celery's own per-message limits), or, when many runs are due at once, several ids in one message;
``jobgate worker`` is a Celery worker (prefork pool, late acks) whose task claims the job results by compare-and-set
before running them, so a redelivered or duplicated message never runs a job twice. Celery enforces the limits of a
message of one run (a message of several carries their sum as a backstop; each run's own limits are enforced in the
pool process, see ``celery_worker``):

- the soft limit: billiard sends ``SIGUSR1`` to the pool process; jobgate's handler raises ``CelerySoftTimeLimit``,
  which is both jobgate's ``SoftTimeLimitExceeded`` (what job authors catch) and Celery's (what Celery code
  catches), and only while a job's ``run()`` is on the stack;
- the hard limit: billiard terminates the pool process and calls ``Request.on_timeout`` in the worker's main
  process; a pool process that dies mid-run (killed, ``os._exit``, out of memory) reaches ``Request.on_failure``
  there as ``WorkerLostError``. ``JobRequest`` turns both into an ``errored`` outcome at once, instead of waiting for
  the lease to expire.

What the task and those hooks do with the database is the ``CeleryRuntime`` bound at worker start-up. Must not
import Slack or ``handlers``.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from billiard.einfo import ExceptionInfo, ExceptionWithTraceback
from billiard.exceptions import SoftTimeLimitExceeded as CelerySoftTimeLimitExceeded
from billiard.exceptions import WorkerLostError
from celery import Celery
from celery.worker import state as worker_state
from celery.worker.request import Request

from bot.jobs import SoftTimeLimitExceeded

log = logging.getLogger(__name__)

TASK_NAME = "jobgate.run_job_result"
QUEUE = "jobgate"

_WORKER_LOST = re.compile(r"(?:exitcode (?P<code>-?\d+))|(?:signal (?P<signal>\d+))")


class CelerySoftTimeLimit(SoftTimeLimitExceeded, CelerySoftTimeLimitExceeded):  # type: ignore[misc]
    """The soft time limit under Celery: ``except SoftTimeLimitExceeded`` catches it whichever class is meant."""


class CeleryRuntime(Protocol):
    """What the Celery task and the worker's main process do with a run (the database side, bound at start-up)."""

    def run(self, job_result_ids: str | list[str]) -> None:
        """In a pool process: claim the job result(s) (compare-and-set), run them, record the outcomes."""

    def process_lost(self, job_result_ids: list[str], *, worker_pid: int, exitcode: int) -> None:
        """In the main process: the pool process running a message died (exit code, or minus the signal)."""

    def time_limit_exceeded(self, job_result_ids: list[str], *, worker_pid: int, time_limit: float) -> None:
        """In the main process: Celery ended the pool process running a message at its hard time limit."""


@dataclass
class _Binding:
    runtime: CeleryRuntime | None = None


_bound = _Binding()


def bind_runtime(runtime: CeleryRuntime) -> None:
    """Give the task and the request hooks their runtime (``jobgate worker`` does, before the pool starts)."""
    _bound.runtime = runtime


def _runtime() -> CeleryRuntime:
    if _bound.runtime is None:
        raise RuntimeError("the jobgate Celery task runs only inside 'jobgate worker'")
    return _bound.runtime


def exitcode_of(lost: BaseException) -> int:
    """The exit code of a lost pool process from Celery's error: ``-9`` for "signal 9 (SIGKILL)", else its code.

    Celery says ``Worker exited prematurely: exitcode 3 Job: 7.`` or ``... signal 9 (SIGKILL) Job: 7.``; a
    ``SystemExit`` carries its code.
    """
    if isinstance(lost, SystemExit):
        return lost.code if isinstance(lost.code, int) else (0 if lost.code is None else 1)
    found = _WORKER_LOST.search(str(lost))
    if found is None:
        return -9  # nothing better to say than "it was killed"
    if found.group("signal"):
        return -int(found.group("signal"))
    return int(found.group("code"))


class JobRequest(Request):  # type: ignore[misc]  # Celery is untyped
    """Celery's request in the worker's main process, telling jobgate when a run's pool process is gone."""

    def on_timeout(self, soft: bool, timeout: float) -> None:
        super().on_timeout(soft, timeout)
        if not soft and self.worker_pid:
            self._report(lambda runtime, job_result_id: runtime.time_limit_exceeded(
                job_result_id, worker_pid=self.worker_pid, time_limit=timeout))

    def on_failure(self, exc_info: ExceptionInfo, send_failed_event: bool = True, return_ok: bool = False) -> None:
        exc = exc_info.exception
        if isinstance(exc, ExceptionWithTraceback):
            exc = exc.exc
        stopping = bool(worker_state.should_terminate) or self._already_cancelled  # the shutdown records those
        if isinstance(exc, WorkerLostError | SystemExit) and self.worker_pid and not stopping:
            pid, code = self.worker_pid, exitcode_of(exc)
            self._report(lambda runtime, job_result_id: runtime.process_lost(
                job_result_id, worker_pid=pid, exitcode=code))
        super().on_failure(exc_info, send_failed_event=send_failed_event, return_ok=return_ok)

    def _report(self, call: Any) -> None:
        try:
            call(_runtime(), message_ids(self.args))
        except Exception:  # the worker must outlive a failed write; the lease and the reaper are the safety net
            log.exception("could not record why the pool process running task %s stopped", self.id)


def message_ids(args: Any) -> list[str]:
    """The job result ids a message carries: its first argument, one id or a list of them."""
    if not args:
        return []
    first = args[0]
    return [str(i) for i in first] if isinstance(first, list | tuple) else [str(first)]


def run_job_result(job_result_ids: str | list[str]) -> None:
    """The task: run one job result, or several one after another (each claimed by compare-and-set first: a second
    delivery does nothing)."""
    _runtime().run(job_result_ids)


def build_celery_app(*, broker_url: str, default_time_limit: timedelta, prefetch: int = 4) -> Celery:
    """A Celery app for jobgate: one queue, one task, prefork, late acks, no result backend.

    Args:
        broker_url: ``JOBGATE_CELERY_BROKER_URL``.
        default_time_limit: the hard limit of a message that carries none (``JOBGATE_DEFAULT_TIME_LIMIT``).
        prefetch: messages each pool process reserves ahead (Celery's prefetch multiplier).
    """
    app = Celery("jobgate", broker=broker_url, set_as_current=False)
    app.conf.update(
        task_default_queue=QUEUE,
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        # A message is acknowledged once its run ended, however it ended: the database records the outcome, and a
        # redelivery would be refused by the claim anyway.
        task_acks_late=True,
        task_acks_on_failure_or_timeout=True,
        task_reject_on_worker_lost=False,
        task_time_limit=int(default_time_limit.total_seconds()),
        worker_prefetch_multiplier=prefetch,
        worker_pool="prefork",
        worker_hijack_root_logger=False,
        # A run that lost its broker connection goes on: its outcome goes to the database, not the broker, and a
        # redelivered copy of its message is refused by the claim.
        worker_cancel_long_running_tasks_on_connection_loss=False,
        worker_send_task_events=False,
        broker_connection_retry_on_startup=True,
        # Publishing gives up quickly: a run not handed over stays pending and the sweeper hands it over again.
        task_publish_retry_policy={"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5},
        # Redis: no acknowledgement emulation. A message leaves the broker when a worker takes it; one lost with its
        # worker (or its broker) is published again by the serving side's sweeper, and the claim keeps any copy
        # from running twice. Emulation would also redeliver every job running longer than its visibility timeout,
        # and its restore-on-reconnect path can end the worker when the broker restarts.
        broker_transport_options={"socket_timeout": 5, "socket_connect_timeout": 5, "ack_emulation": False},
    )
    app.task(name=TASK_NAME, Request=JobRequest, acks_late=True, ignore_result=True)(run_job_result)
    return app
