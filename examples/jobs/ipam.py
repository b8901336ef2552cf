"""Example jobs that call HTTP APIs, as most network jobs do: Nautobot's (or NetBox's, the same endpoints) REST API
and a webhook, with ``requests``. Copy this file into a directory on ``JOBGATE_JOBS_PATH`` and adapt it; its tests
(``tests/test_example_ipam.py``) show how to stub the HTTP calls with ``responses``.

| job | approval_required | what it calls |
|---|---|---|
| ``ipam.ReserveAddresses`` | True | ``GET /api/ipam/prefixes/?prefix=…``, ``…/available-ips/``, the webhook |
| ``ipam.PostWebhook`` | False | ``POST`` to the webhook |

Where to reach them comes from the environment of the process that runs the jobs (never from a job's variables,
which are shown to approvers): ``NAUTOBOT_URL`` and ``NAUTOBOT_TOKEN``, and ``JOBGATE_EXAMPLE_WEBHOOK_URL`` (none:
no webhook). Every call has a timeout; an HTTP error fails the run with a line saying which call failed.
"""

from __future__ import annotations

import os

import requests

from bot.jobs import ChoiceVar, IntegerVar, IPNetworkVar, Job, StringVar

name = "IPAM"  # groups these jobs in /jobs list and the API's "grouping", as in Nautobot

TIMEOUT = 10
"""Seconds each HTTP call may take."""


def nautobot() -> tuple[str, dict[str, str]]:
    """The Nautobot API's base URL and the headers every call sends."""
    url = os.environ.get("NAUTOBOT_URL", "https://nautobot.example.com").rstrip("/")
    headers = {"Accept": "application/json", "Authorization": f"Token {os.environ.get('NAUTOBOT_TOKEN', '')}"}
    return url, headers


def post_webhook(text: str) -> bool:
    """Post ``{"text": …}`` to ``JOBGATE_EXAMPLE_WEBHOOK_URL`` (Slack incoming webhooks, Teams, Mattermost take it);
    False when none is configured."""
    url = os.environ.get("JOBGATE_EXAMPLE_WEBHOOK_URL")
    if not url:
        return False
    requests.post(url, json={"text": text}, timeout=TIMEOUT).raise_for_status()
    return True


class ReserveAddresses(Job):
    """Reserve the next free addresses of a prefix in Nautobot's IPAM, after someone approves it."""

    class Meta:
        name = "Reserve addresses"
        description = "Reserve the next free addresses of a prefix in Nautobot"
        approval_required = True
        has_sensitive_variables = False
        time_limit = 120

    prefix = IPNetworkVar(description="The prefix, as in Nautobot (10.20.0.0/24)", min_prefix_length=8)
    count = IntegerVar(default=1, min_value=1, max_value=32, description="How many addresses")
    description = StringVar(max_length=200, description="Why, stored on each address")

    def run(self, data, commit):
        url, headers = nautobot()
        try:
            found = requests.get(f"{url}/api/ipam/prefixes/", params={"prefix": str(data["prefix"])},
                                 headers=headers, timeout=TIMEOUT)
            found.raise_for_status()
            prefixes = found.json()["results"]
            if not prefixes:
                self.log_failure(obj=data["prefix"], message="No such prefix in Nautobot")
                return None
            available_url = f"{url}/api/ipam/prefixes/{prefixes[0]['id']}/available-ips/"
            if not commit:
                free = requests.get(available_url, params={"limit": data["count"]}, headers=headers, timeout=TIMEOUT)
                free.raise_for_status()
                addresses = [item["address"] for item in free.json()]
                self.log_info(obj=data["prefix"], message=f"Dry run: would reserve {', '.join(addresses)}")
                return addresses
            body = [{"status": "reserved", "description": data["description"]} for _ in range(data["count"])]
            created = requests.post(available_url, json=body, headers=headers, timeout=TIMEOUT)
            created.raise_for_status()
        except requests.RequestException as exc:  # a timeout, a refused connection, an HTTP error status
            self.log_failure(obj=data["prefix"], message=f"Nautobot API call failed: {exc}")
            return None
        addresses = [item["address"] for item in created.json()]
        for address in addresses:
            self.log_success(obj=address, message=f"Reserved: {data['description']}")
        if post_webhook(f"Reserved {', '.join(addresses)} in {data['prefix']}: {data['description']}"):
            self.log_info(message="Webhook notified")
        return addresses


class PostWebhook(Job):
    """Post a message to the configured webhook."""

    class Meta:
        name = "Post to webhook"
        description = "Send a message to the team's webhook"
        has_sensitive_variables = False

    message = StringVar(max_length=500)
    severity = ChoiceVar(choices=(("info", "Info"), ("warning", "Warning")), default="info")

    def run(self, data, commit):
        text = f"[{data['severity']}] {data['message']}"
        if not commit:
            self.log_info(message=f"Dry run: would post {text!r}")
            return None
        try:
            sent = post_webhook(text)
        except requests.RequestException as exc:
            self.log_failure(message=f"Webhook call failed: {exc}")
            return None
        if not sent:
            self.log_warning(message="JOBGATE_EXAMPLE_WEBHOOK_URL is not set: nothing was posted")
            return None
        self.log_success(message="Posted")
        return text
