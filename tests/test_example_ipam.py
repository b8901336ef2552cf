"""The example HTTP jobs (``examples/jobs/ipam.py``), tested as a job author tests a job: ``run_job_for_testing``
runs it in this process with its data checked as jobgate checks it, and ``responses`` stubs every HTTP call it
makes (a call nobody stubbed fails the test: ``responses`` refuses it)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import responses
from responses import matchers

from bot.domain.errors import InvalidDataError
from bot.jobs import Job
from bot.registry import discover
from bot.testing import run_job_for_testing

EXAMPLES = Path(__file__).parent.parent / "examples" / "jobs"
NAUTOBOT = "https://nautobot.example.com"
PREFIX_ID = "9c9e1b8c-3f2a-4c55-9a1e-2f6d1c0b7a11"
AVAILABLE = f"{NAUTOBOT}/api/ipam/prefixes/{PREFIX_ID}/available-ips/"
WEBHOOK = "https://hooks.example.com/services/T0/B0/x"


def job_class(slug: str) -> type[Job]:
    found = discover([EXAMPLES], entry_points=False).jobs[slug]
    return found.job_class


@pytest.fixture
def http() -> Iterator[responses.RequestsMock]:
    """Every HTTP call the job makes must be stubbed here, and every stub must be called."""
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


@pytest.fixture(autouse=True)
def nautobot_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The job's configuration, as the process running it would have it."""
    monkeypatch.setenv("NAUTOBOT_URL", NAUTOBOT)
    monkeypatch.setenv("NAUTOBOT_TOKEN", "0123456789abcdef")
    monkeypatch.delenv("JOBGATE_EXAMPLE_WEBHOOK_URL", raising=False)


def stub_prefix_lookup(http: responses.RequestsMock, results: list[dict[str, str]]) -> None:
    http.get(f"{NAUTOBOT}/api/ipam/prefixes/", json={"count": len(results), "results": results},
             match=[matchers.query_param_matcher({"prefix": "10.20.0.0/24"}),
                    matchers.header_matcher({"Authorization": "Token 0123456789abcdef"})])


def test_reserve_addresses_posts_to_nautobot_and_returns_what_it_reserved(
    http: responses.RequestsMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JOBGATE_EXAMPLE_WEBHOOK_URL", WEBHOOK)
    stub_prefix_lookup(http, [{"id": PREFIX_ID, "prefix": "10.20.0.0/24"}])
    body = [{"status": "reserved", "description": "new rack"}] * 2
    http.post(AVAILABLE, json=[{"address": "10.20.0.5/24"}, {"address": "10.20.0.6/24"}], status=201,
              match=[matchers.json_params_matcher(body)])
    http.post(WEBHOOK, body="ok",
              match=[matchers.json_params_matcher({"text": "Reserved 10.20.0.5/24, 10.20.0.6/24 in 10.20.0.0/24: "
                                                           "new rack"})])
    run = run_job_for_testing(job_class("ipam.ReserveAddresses"),
                              {"prefix": "10.20.0.0/24", "count": 2, "description": "new rack"})
    assert run.returned == ["10.20.0.5/24", "10.20.0.6/24"]
    assert run.messages == ["Reserved: new rack", "Reserved: new rack", "Webhook notified"]
    assert not run.failed


def test_a_dry_run_only_reads_the_free_addresses(http: responses.RequestsMock) -> None:
    stub_prefix_lookup(http, [{"id": PREFIX_ID, "prefix": "10.20.0.0/24"}])
    http.get(AVAILABLE, json=[{"address": "10.20.0.5/24"}], match=[matchers.query_param_matcher({"limit": "1"})])
    run = run_job_for_testing(job_class("ipam.ReserveAddresses"),
                              {"prefix": "10.20.0.0/24", "description": "new rack"}, commit=False)
    assert run.returned == ["10.20.0.5/24"]
    assert run.messages == ["Dry run: would reserve 10.20.0.5/24"]
    assert [call.request.method for call in http.calls] == ["GET", "GET"]  # nothing was posted


def test_an_unknown_prefix_and_an_http_error_fail_the_run_saying_why(http: responses.RequestsMock) -> None:
    stub_prefix_lookup(http, [])
    run = run_job_for_testing(job_class("ipam.ReserveAddresses"), {"prefix": "10.20.0.0/24", "description": "x"})
    assert run.failed and run.at_level("failure") == ["No such prefix in Nautobot"]

    http.reset()
    stub_prefix_lookup(http, [{"id": PREFIX_ID, "prefix": "10.20.0.0/24"}])
    http.post(AVAILABLE, json={"detail": "Insufficient space is available."}, status=409)
    run = run_job_for_testing(job_class("ipam.ReserveAddresses"), {"prefix": "10.20.0.0/24", "description": "x"})
    assert run.failed and run.returned is None
    assert run.at_level("failure")[0].startswith("Nautobot API call failed: 409 Client Error")


def test_a_timeout_fails_the_run_too(http: responses.RequestsMock) -> None:
    http.get(f"{NAUTOBOT}/api/ipam/prefixes/", body=requests.ConnectTimeout("connect timeout"))
    run = run_job_for_testing(job_class("ipam.ReserveAddresses"), {"prefix": "10.20.0.0/24", "description": "x"})
    assert run.at_level("failure") == ["Nautobot API call failed: connect timeout"]


def test_bad_data_is_refused_before_any_call(http: responses.RequestsMock) -> None:
    with pytest.raises(InvalidDataError) as refused:
        run_job_for_testing(job_class("ipam.ReserveAddresses"), {"prefix": "10.20.0.1/24", "description": "x"})
    assert refused.value.errors == {
        "prefix": ["10.20.0.1/24 has host bits set: enter the network address (10.20.0.0/24)."]
    }
    assert len(http.calls) == 0


def test_post_webhook_sends_the_message_or_says_it_is_not_configured(
    http: responses.RequestsMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = run_job_for_testing(job_class("ipam.PostWebhook"), {"message": "maintenance at 22:00"})
    assert run.at_level("warning") == ["JOBGATE_EXAMPLE_WEBHOOK_URL is not set: nothing was posted"]
    monkeypatch.setenv("JOBGATE_EXAMPLE_WEBHOOK_URL", WEBHOOK)
    http.post(WEBHOOK, body="ok")
    run = run_job_for_testing(job_class("ipam.PostWebhook"), {"message": "maintenance at 22:00", "severity": "warning"})
    assert run.returned == "[warning] maintenance at 22:00"
    assert json.loads(http.calls[0].request.body or b"{}") == {"text": "[warning] maintenance at 22:00"}
