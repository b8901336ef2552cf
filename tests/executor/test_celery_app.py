"""The Celery app's settings, and how Celery's soft limit and lost pool processes are read (no broker needed)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from billiard.exceptions import SoftTimeLimitExceeded as BilliardSoftTimeLimitExceeded
from billiard.exceptions import WorkerLostError

from bot.executor.celery_app import QUEUE, TASK_NAME, CelerySoftTimeLimit, JobRequest, build_celery_app, exitcode_of
from bot.jobs import SoftTimeLimitExceeded


def test_the_app_runs_one_task_with_late_acks_on_a_prefork_pool_without_results() -> None:
    app = build_celery_app(broker_url="redis://127.0.0.1:6379/5", default_time_limit=timedelta(minutes=10))
    task = app.tasks[TASK_NAME]
    assert task.acks_late and task.ignore_result and task.Request is JobRequest
    assert app.conf.worker_pool == "prefork" and app.conf.task_default_queue == QUEUE
    assert app.conf.task_time_limit == 600 and app.conf.task_reject_on_worker_lost is False
    assert app.conf.broker_url == "redis://127.0.0.1:6379/5"


@pytest.mark.parametrize("caught", [SoftTimeLimitExceeded, BilliardSoftTimeLimitExceeded])
def test_celery_s_soft_limit_is_caught_by_jobgate_s_class_and_by_celery_s(caught: type[Exception]) -> None:
    with pytest.raises(caught):
        raise CelerySoftTimeLimit()


@pytest.mark.parametrize(
    ("lost", "exitcode"),
    [
        (WorkerLostError("Worker exited prematurely: signal 9 (SIGKILL) Job: 7."), -9),
        (WorkerLostError("Worker exited prematurely: exitcode 3 Job: 7."), 3),
        (WorkerLostError("Worker exited prematurely: signal 15 (SIGTERM)."), -15),
        (SystemExit(4), 4),
        (WorkerLostError("Worker exited prematurely."), -9),
    ],
)
def test_how_a_lost_pool_process_ended(lost: BaseException, exitcode: int) -> None:
    assert exitcode_of(lost) == exitcode
