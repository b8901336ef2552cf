"""``GET /metrics`` through the real server: what a Prometheus scrape shows after runs, a dry run, an approval, an
outbox backlog and a rate-limited Slack call."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from bot.domain.results import JobResultStatus
from tests.slack.conftest import APPROVAL_CHANNEL, Stack, press, run_jobs


def scrape(stack: Stack) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of ``GET /metrics``, by name and labels; the response must be Prometheus text."""
    response = httpx.get(f"{stack.slack.base_url}/metrics", timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


def test_metrics_show_runs_dry_runs_approvals_and_the_outbox(stack: Stack) -> None:
    before = scrape(stack)
    assert value(before, "jobgate_pending_approvals") == 0
    assert value(before, "jobgate_oldest_pending_approval_age_seconds") == 0
    assert value(before, "jobgate_database_up") == 1
    assert value(before, "jobgate_runs_total", job="testjobs.TestPass", status="completed", dry_run="false") is None

    stack.slack.command("run testjobs.TestPass --now", user_id="UALICE")
    stack.slack.command('run testjobs.ApprovalJob device=core-2 --at "2030-01-16 09:00"', user_id="UALICE")
    stack.fake.wait_for("response_url", 2)
    stack.clock.advance(minutes=90)
    waiting = scrape(stack)
    assert value(waiting, "jobgate_pending_approvals") == 1
    assert value(waiting, "jobgate_oldest_pending_approval_age_seconds") == 90 * 60
    assert value(waiting, "jobgate_outbox_backlog", channel=APPROVAL_CHANNEL) == 1

    stack.deliver()
    message = stack.posted(APPROVAL_CHANNEL)[0]
    press(stack, message, "Dry run", user_id="UAPPROVER")
    stack.fake.wait_for("response_url", 3)
    outcomes = run_jobs(stack)
    assert sorted(o.status for o in outcomes) == [JobResultStatus.COMPLETED] * 2

    press(stack, message, "Approve", user_id="UAPPROVER")
    after = scrape(stack)
    assert value(after, "jobgate_runs_total", job="testjobs.TestPass", status="completed", dry_run="false") == 1
    assert value(after, "jobgate_runs_total", job="testjobs.ApprovalJob", status="completed", dry_run="true") == 1
    assert value(after, "jobgate_run_duration_seconds_count", job="testjobs.TestPass") == 1
    assert value(after, "jobgate_run_duration_seconds_count", job="testjobs.ApprovalJob") == 1
    assert value(after, "jobgate_dispatch_lag_seconds_count") == 2
    assert value(after, "jobgate_pending_approvals") == 0
    assert value(after, "jobgate_oldest_pending_approval_age_seconds") == 0
    # The decision's message update, the dry run's thread reply and the requester's DMs wait for the notifier.
    assert sum(v for (name, _), v in after.items() if name == "jobgate_outbox_backlog") >= 2

    stack.deliver()
    delivered = scrape(stack)
    assert [key for key in delivered if key[0] == "jobgate_outbox_backlog"] == []
    assert value(delivered, "jobgate_runs_total", job="testjobs.TestPass", status="completed", dry_run="false") == 1


def test_metrics_count_slack_errors_and_rate_limits_by_method(stack: Stack) -> None:
    stack.slack.command('run testjobs.ApprovalJob device=core-2 --at "2030-01-16 09:00"', user_id="UALICE")
    stack.fake.wait_for("response_url")
    stack.fake.fail("chat.postMessage", status=429, retry_after=1)
    stack.deliver()
    samples = scrape(stack)
    assert value(samples, "jobgate_slack_api_rate_limited_total", method="chat.postMessage") == 1
    assert value(samples, "jobgate_slack_api_errors_total", method="chat.postMessage", error="http_429") == 1
    assert len(stack.posted(APPROVAL_CHANNEL)) == 1  # delivered after the pause


def test_each_app_has_its_own_metrics(stack: Stack) -> None:
    """Several apps in one process (replicas in tests) never share a registry."""
    from bot.app import build_app
    from bot.metrics import Metrics

    first = Metrics(stack.core.db, clock=stack.clock)
    second = Metrics(stack.core.db, clock=stack.clock)
    first.slack_call_failed("chat.postMessage", status=429, error=None)
    app = build_app(settings=stack.settings, services=stack.services, db=stack.core.db, metrics=second)
    assert app is not None
    assert b'jobgate_slack_api_rate_limited_total{method="chat.postMessage"} 1.0' in first.render()
    assert b"jobgate_slack_api_rate_limited_total{" not in second.render()
