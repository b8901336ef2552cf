"""Executing one job in this process: outcomes, output, errors, the soft limit's signal, sensitive exceptions."""

from __future__ import annotations

import os
import pickle
import signal
import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest

from bot.domain.results import JobResultStatus
from bot.executor.execution import SOFT_LIMIT_SIGNAL, execute, install_soft_limit_handler
from bot.executor.orders import RunReport, describe_exit, effective_time_limits
from tests.executor.conftest import Orders


def run(orders: Orders, slug: str, data: dict[str, object] | None = None, **options: object) -> RunReport:
    order = orders(slug, data, **options)  # type: ignore[arg-type]
    found = orders.jobs.get(slug)
    return execute(order, found.job_class if found else None)


def test_a_job_that_returns_completes_with_its_log_and_its_output_as_text(orders: Orders) -> None:
    report = run(orders, "crashjobs.ReportingJob", {"seconds": 0}, user_id="UBOB", commit=False)
    assert report.status is JobResultStatus.COMPLETED and report.error is None
    assert report.output == "{'answer': 42}"
    assert [e.message for e in report.log][-1] == "user=UBOB commit=False"
    assert report.started_at <= report.finished_at
    assert pickle.loads(pickle.dumps(report)) == report  # it crosses a pipe


def test_a_job_that_logs_a_failure_fails_with_that_failure_as_its_error(orders: Orders) -> None:
    report = run(orders, "testjobs.TestFail")
    assert (report.status, report.error, report.output) == (JobResultStatus.FAILED, "failed", None)


def test_an_exception_fails_the_run_with_its_traceback_in_the_log(orders: Orders) -> None:
    report = run(orders, "runjobs.RaisingJob")
    assert report.status is JobResultStatus.FAILED
    assert report.error == "RuntimeError: device unreachable"
    assert report.log[1].message.startswith("RuntimeError: device unreachable")
    assert "Traceback (most recent call last)" in report.log[1].message


def test_a_sensitive_job_s_exception_keeps_its_type_and_never_its_message(orders: Orders) -> None:
    report = run(orders, "crashjobs.PinJob", {"pin": "12-SECRET-34"})
    assert report.status is JobResultStatus.FAILED and report.error == "ValueError"
    assert "SECRET" not in repr(report) and "SECRET" not in repr(pickle.dumps(report))
    assert report.log[-1].message.startswith("ValueError (its message and traceback are not recorded")


def test_an_order_never_shows_its_data(orders: Orders) -> None:
    assert "SECRET" not in repr(orders("crashjobs.PinJob", {"pin": "SECRET"}))


def test_a_job_this_process_does_not_have_is_errored(orders: Orders) -> None:
    report = run(orders, "nosuch.Job")
    assert report.status is JobResultStatus.ERRORED
    assert report.error == 'Unable to locate job "nosuch.Job" to run it!'


@pytest.fixture
def soft_limit_signal() -> Iterator[None]:
    """The soft limit's handler installed in this (main) thread, the previous one restored afterwards."""
    assert threading.current_thread() is threading.main_thread()
    previous = signal.getsignal(SOFT_LIMIT_SIGNAL)
    install_soft_limit_handler()
    yield
    signal.signal(SOFT_LIMIT_SIGNAL, previous)


def test_the_soft_limit_signal_raises_inside_a_running_job_and_the_job_may_catch_it(
    orders: Orders, soft_limit_signal: None
) -> None:
    timer = threading.Timer(0.3, os.kill, (os.getpid(), SOFT_LIMIT_SIGNAL))
    timer.start()
    report = run(orders, "crashjobs.SoftLimitCatcherJob", {"busy": "cpu"})
    timer.join()
    assert report.status is JobResultStatus.COMPLETED and report.output == "cleaned up"
    assert report.log[0].message.startswith("soft limit reached after 0.")


def test_an_uncaught_soft_limit_fails_the_run_naming_the_limit(orders: Orders, soft_limit_signal: None) -> None:
    timer = threading.Timer(0.3, os.kill, (os.getpid(), SOFT_LIMIT_SIGNAL))
    timer.start()
    report = run(orders, "runjobs.SoftLimitedJob")
    timer.join()
    assert report.status is JobResultStatus.FAILED and report.error == "Soft time limit of 0.2 s exceeded."
    assert [e.message for e in report.log] == ["cleaning up after the soft limit", "Soft time limit of 0.2 s exceeded."]


def test_the_soft_limit_signal_does_nothing_when_no_job_runs(soft_limit_signal: None) -> None:
    os.kill(os.getpid(), SOFT_LIMIT_SIGNAL)  # e.g. arriving while an outcome is being recorded: nothing raised


@pytest.mark.parametrize(
    ("soft", "hard", "expected"),
    [
        (None, None, (None, 3600.0)),
        (None, 30, (None, 30)),
        (10, 30, (10, 30)),
        (30, 30, (None, 30)),  # never seen before the hard limit
        (7200, None, (None, 3600.0)),
    ],
)
def test_effective_time_limits_fall_back_to_the_default(soft: float | None, hard: float | None,
                                                        expected: tuple[float | None, float]) -> None:
    assert effective_time_limits(soft_time_limit=soft, time_limit=hard, default=timedelta(hours=1)) == expected


@pytest.mark.parametrize(("exitcode", "words"), [(3, "exit code 3"), (-9, "signal 9 (SIGKILL)"),
                                                 (-15, "signal 15 (SIGTERM)"), (0, "exit code 0")])
def test_how_a_process_ended_in_words(exitcode: int, words: str) -> None:
    assert describe_exit(exitcode) == words
