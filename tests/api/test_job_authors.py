"""Nautobot job authors at home: a job ported from Nautobot runs with its import line changed, over the REST API.

Nautobot's own ``TestIPAddresses`` job (IP variables, a return value), object variables whose choices the job
computes, the module-level ``name`` grouping, the 1.x class-path URLs, and a failed run's ``error``. The runs execute
in the real local executor's worker processes.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from bot.app import Core
from bot.domain.errors import FieldErrors
from bot.executor.local import LocalExecutor
from bot.scheduler import Dispatcher
from handlers.api_multipart import body_from_multipart
from tests.api.conftest import Api
from tests.conftest import ADMIN, ALICE, APPROVER, NOW

NET_JOBS = '''
"""Jobs ported from Nautobot: only the import line changed."""

import json
from pathlib import Path

from bot.jobs import (
    FileVar, IPAddressVar, IPAddressWithMaskVar, IPNetworkVar, Job, MultiObjectVar, ObjectVar, StringVar,
)

name = "Network tools"

INVENTORY = Path(__file__).with_name("inventory.json")


def devices():
    return [(device, device.upper()) for device in json.loads(INVENTORY.read_text())]


class TestIPAddresses(Job):
    class Meta:
        description = "Validate IP Addresses"
        has_sensitive_variables = False

    ipv4_address = IPAddressVar(description="IPv4 Address")
    ipv4_with_mask = IPAddressWithMaskVar(description="IPv4 with mask")
    ipv4_network = IPNetworkVar(description="IPv4 network")
    ipv6_address = IPAddressVar(description="IPv6 Address")

    def run(self, data, commit):
        for key, value in data.items():
            self.log_info(message=f"{key}: {type(value).__name__} {value}")
        self.log_info(message=f"{data['ipv4_address']} in {data['ipv4_network']}: "
                              f"{data['ipv4_address'] in data['ipv4_network']}")
        return "Nice IPs, bro."


class PickDevices(Job):
    class Meta:
        has_sensitive_variables = False

    device = ObjectVar(choices=devices)
    peers = MultiObjectVar(choices=devices, required=False)

    def run(self, data, commit):
        return {"device": data["device"], "peers": data["peers"]}


class PushConfig(Job):
    class Meta:
        approval_required = True
        has_sensitive_variables = False

    device = StringVar()
    config = FileVar(max_size=100)

    def run(self, data, commit):
        config = data["config"]
        self.log_info(obj=data["device"], message=f"{type(config).__name__} {config.name}: {config.size} bytes")
        return config.read().decode()


class CheckConfig(Job):
    class Meta:
        has_sensitive_variables = False

    config = FileVar()

    def run(self, data, commit):
        return f"{data['config'].name} {data['config'].content_type} {data['config'].read()!r}"


class LoadSecrets(Job):
    """Sensitive (the default): its file, like its other data, stays in memory."""

    secrets = FileVar()

    def run(self, data, commit):
        self.log_info(message=f"loaded {data['secrets'].size} bytes")
        return data["secrets"].read().decode()[:6]


class Unreachable(Job):
    class Meta:
        has_sensitive_variables = False

    def run(self, data, commit):
        self.log_failure(obj="core1", message="NETCONF session refused")
'''


@pytest.fixture
def jobs_dir(jobs_dir: Path) -> Path:
    (jobs_dir / "netjobs.py").write_text(NET_JOBS)
    (jobs_dir / "inventory.json").write_text(json.dumps(["core1", "core2"]))
    return jobs_dir


@pytest.fixture
def executor(core: Core) -> Iterator[LocalExecutor]:
    made = LocalExecutor(core.db, core.catalog, core.handover, workers=1, default_time_limit=timedelta(seconds=60),
                         clock=core.services.clock)
    made.start(claiming=False)
    assert made.pool.wait_ready(30)
    yield made
    made.stop(timedelta(seconds=0))


IP_DATA = {"ipv4_address": "192.0.2.10", "ipv4_with_mask": "192.0.2.10/24", "ipv4_network": "192.0.2.0/24",
           "ipv6_address": "2001:DB8::1"}


def test_nautobot_s_test_ip_addresses_job_runs_by_class_path_with_ipaddress_objects_and_keeps_its_output(
    api: Api, executor: LocalExecutor
) -> None:
    answer = api.post("/api/extras/jobs/local/netjobs/TestIPAddresses/run/", ALICE, json={"data": IP_DATA})
    assert answer.status_code == 201, answer.text
    result_id = answer.json()["job_result"]["id"]
    executor.run_pending(now=NOW)
    result = api.get(f"/api/extras/job-results/{result_id}/", ALICE).json()
    assert result["status"]["value"] == "completed" and result["error"] is None
    assert result["output"] == "Nice IPs, bro."
    assert [entry["message"] for entry in result["log"]] == [
        "ipv4_address: IPv4Address 192.0.2.10",
        "ipv4_with_mask: IPv4Interface 192.0.2.10/24",
        "ipv4_network: IPv4Network 192.0.2.0/24",
        "ipv6_address: IPv6Address 2001:db8::1",
        "192.0.2.10 in 192.0.2.0/24: True",
    ]


def test_bad_addresses_are_refused_with_400_naming_each_field(api: Api) -> None:
    answer = api.post("/api/extras/jobs/netjobs.TestIPAddresses/run/", ALICE, json={"data": {
        **IP_DATA, "ipv4_address": "192.0.2.10/24", "ipv4_network": "192.0.2.10/24", "ipv6_address": "2001:db8::zz",
    }})
    assert answer.status_code == 400
    assert answer.json() == {"errors": {
        "ipv4_address": ["Enter an IP address without a mask (such as 10.0.0.1), not 192.0.2.10/24."],
        "ipv4_network": ["192.0.2.10/24 has host bits set: enter the network address (192.0.2.0/24)."],
        "ipv6_address": ["Enter a valid IPv4 or IPv6 address."],
    }}


def test_a_scheduled_request_keeps_the_addresses_as_text(api: Api) -> None:
    schedule = {"name": "later", "interval": "future", "start_time": (NOW + timedelta(hours=1)).isoformat()}
    answer = api.post("/api/extras/jobs/local/netjobs/TestIPAddresses/run/", ALICE,
                      json={"data": IP_DATA, "schedule": schedule})
    assert answer.status_code == 201, answer.text
    stored = api.get(f"/api/extras/scheduled-jobs/{answer.json()['schedule']['id']}/", ALICE).json()["data"]
    assert stored == {**IP_DATA, "ipv6_address": "2001:db8::1"}


def test_the_class_path_url_answers_as_the_slug_and_the_module_name_is_the_grouping(api: Api) -> None:
    by_path = api.get("/api/extras/jobs/local/netjobs/TestIPAddresses/", ALICE)
    by_slug = api.get("/api/extras/jobs/netjobs.TestIPAddresses/", ALICE)
    assert by_path.status_code == by_slug.status_code == 200
    assert by_path.json() == by_slug.json()
    assert by_path.json()["grouping"] == "Network tools"
    assert by_path.json()["variables"]["ipv4_network"]["type"] == "IPNetworkVar"
    assert api.get("/api/extras/jobs/testjobs.TestPass/", ALICE).json()["grouping"] == "testjobs"
    missing = api.get("/api/extras/jobs/local/netjobs/NoSuchJob/", ALICE)
    assert missing.status_code == 404
    assert missing.json() == {"detail": "Job 'netjobs.NoSuchJob' not found."}
    assert api.post("/api/extras/jobs/local/netjobs/NoSuchJob/run/", ALICE, json={}).status_code == 404


def test_object_variables_are_checked_against_the_job_s_current_choices(
    api: Api, jobs_dir: Path, executor: LocalExecutor
) -> None:
    run = "/api/extras/jobs/local/netjobs/PickDevices/run/"
    described = api.get("/api/extras/jobs/netjobs.PickDevices/", ALICE).json()["variables"]["device"]
    assert described["choices"] == [["core1", "CORE1"], ["core2", "CORE2"]]
    refused = api.post(run, ALICE, json={"data": {"device": "edge9"}})
    assert refused.status_code == 400
    assert refused.json() == {
        "errors": {"device": ["Select a valid choice. edge9 is not one of the available choices."]}
    }
    (jobs_dir / "inventory.json").write_text(json.dumps(["core1", "edge9"]))  # the inventory changed
    accepted = api.post(run, ALICE, json={"data": {"device": "edge9", "peers": ["core1"]}})
    assert accepted.status_code == 201, accepted.text
    assert api.post(run, ALICE, json={"data": {"device": "core2"}}).json() == {
        "errors": {"device": ["Select a valid choice. core2 is not one of the available choices."]}
    }
    executor.run_pending(now=NOW)
    result = api.get(f"/api/extras/job-results/{accepted.json()['job_result']['id']}/", ALICE).json()
    assert result["output"] == "{'device': 'edge9', 'peers': ['core1']}"


def test_a_failed_run_says_why_in_its_error_field(api: Api, executor: LocalExecutor) -> None:
    answer = api.post("/api/extras/jobs/local/netjobs/Unreachable/run/", ADMIN, json={})
    executor.run_pending(now=NOW)
    result = api.get(f"/api/extras/job-results/{answer.json()['job_result']['id']}/", ADMIN).json()
    assert result["status"]["value"] == "failed"
    assert result["error"] == "NETCONF session refused"
    listed = api.get("/api/extras/job-results/?job=netjobs.Unreachable", ADMIN).json()["results"]
    assert [r["error"] for r in listed] == ["NETCONF session refused"]


CONFIG = b"hostname core1\ninterface ge-0/0/0\n"


def test_a_file_sent_as_base64_waits_for_approval_and_the_approved_run_still_has_it(
    api: Api, core: Core, executor: LocalExecutor
) -> None:
    encoded = base64.b64encode(CONFIG).decode()
    answer = api.post("/api/extras/jobs/local/netjobs/PushConfig/run/", ALICE,
                      json={"data": {"device": "core1", "config": {"name": "core1.cfg", "content": encoded}}})
    assert answer.status_code == 201, answer.text
    scheduled = answer.json()["schedule"]
    shown = api.get(f"/api/extras/scheduled-jobs/{scheduled['id']}/", APPROVER).json()["data"]
    assert shown == {"device": "core1", "config": {"name": "core1.cfg", "size": len(CONFIG), "content_type": ""}}
    assert encoded not in api.get("/api/extras/scheduled-jobs/", APPROVER).text  # shown by name, never by content
    assert api.post(f"/api/extras/scheduled-jobs/{scheduled['id']}/approve/", APPROVER).status_code == 200
    Dispatcher(core.db, grace=timedelta(hours=1), clock=core.services.clock).dispatch_all_due(now=NOW)
    executor.run_pending(now=NOW)
    results = api.get(f"/api/extras/job-results/?scheduled_job={scheduled['id']}", ALICE).json()["results"]
    result = api.get(f"/api/extras/job-results/{results[0]['id']}/", ALICE).json()
    assert result["status"]["value"] == "completed", result
    assert result["output"] == CONFIG.decode()
    assert result["log"][0]["message"] == f"UploadedFile core1.cfg: {len(CONFIG)} bytes"


def test_a_file_uploaded_as_nautobot_s_multipart_form(api: Api, executor: LocalExecutor) -> None:
    answer = api.post("/api/extras/jobs/netjobs.CheckConfig/run/", ALICE, data={"_commit": "false"},
                      files={"config": ("edge.cfg", b"\x00binary", "application/octet-stream")})
    assert answer.status_code == 201, answer.text
    assert answer.json()["job_result"]["dry_run"] is True
    executor.run_pending(now=NOW)
    result = api.get(f"/api/extras/job-results/{answer.json()['job_result']['id']}/", ALICE).json()
    assert result["output"] == "edge.cfg application/octet-stream b'\\x00binary'"


def test_file_refusals_name_the_field(api: Api) -> None:
    too_big = api.post("/api/extras/jobs/netjobs.PushConfig/run/", ALICE,
                       files={"config": ("huge.cfg", b"x" * 101, "text/plain")}, data={"device": "core1"})
    assert too_big.status_code == 400
    assert too_big.json() == {
        "errors": {"config": ["The file is too large: 101 bytes; at most 100 bytes are accepted."]}
    }
    not_base64 = api.post("/api/extras/jobs/netjobs.CheckConfig/run/", ALICE, json={"data": {"config": "%%%"}})
    assert not_base64.json() == {"errors": {"config": ["The file's content is not valid base64."]}}
    broken = api.post("/api/extras/jobs/netjobs.CheckConfig/run/", ALICE, content=b"--x\r\nnonsense",
                      headers={"Content-Type": "multipart/form-data; boundary=x"})
    assert broken.status_code == 400 and "Multipart form parse error" in broken.text


def test_a_sensitive_job_s_file_is_never_written_to_the_database(
    api: Api, core: Core, executor: LocalExecutor
) -> None:
    secret = b"SECRET-bgp-password-0xC0FFEE"
    answer = api.post("/api/extras/jobs/netjobs.LoadSecrets/run/", ALICE,
                      files={"secrets": ("vault.txt", secret, "text/plain")})
    assert answer.status_code == 201, answer.text
    executor.run_pending(now=NOW)
    result = api.get(f"/api/extras/job-results/{answer.json()['job_result']['id']}/", ALICE).json()
    assert result["status"]["value"] == "completed" and result["output"] == "SECRET"
    encoded = base64.b64encode(secret).decode()
    with core.db.read() as session:
        for table in ("job_results", "job_log_entries", "scheduled_jobs", "audit_events", "outbox"):
            dump = repr(list(session.execute(text(f"SELECT * FROM {table}"))))
            assert "bgp-password" not in dump and encoded not in dump, table


@settings(max_examples=300, deadline=None)
@given(body=st.binary(max_size=400), boundary=st.text(min_size=1, max_size=20))
def test_any_multipart_body_is_read_or_refused_with_a_field_error(body: bytes, boundary: str) -> None:
    form = b"--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n" + body + b"\r\n--b--\r\n"
    for raw, content_type in ((body, f"multipart/form-data; boundary={boundary}"),
                              (form, "multipart/form-data; boundary=b")):
        try:
            decoded = body_from_multipart(raw, content_type)
        except FieldErrors:
            continue
        assert isinstance(decoded["data"], dict)


def test_a_multipart_form_schedules_with_nautobot_s_flattened_fields(api: Api) -> None:
    start = (NOW + timedelta(hours=2)).isoformat()
    answer = api.post("/api/extras/jobs/local/netjobs/CheckConfig/run/", ALICE,
                      data={"_schedule_name": "tonight", "_schedule_interval": "future",
                            "_schedule_start_time": start},
                      files={"config": ("edge.cfg", b"hostname edge\n", "text/plain")})
    assert answer.status_code == 201, answer.text
    schedule = answer.json()["schedule"]
    assert (schedule["name"], schedule["interval"], schedule["start_time"]) == (
        "tonight", "future", (NOW + timedelta(hours=2)).isoformat().replace("+00:00", "Z"))
    assert schedule["data"] == {"config": {"name": "edge.cfg", "size": 14, "content_type": "text/plain"}}
    bad = api.post("/api/extras/jobs/local/netjobs/CheckConfig/run/", ALICE, data={"_schedule_interval": "yearly"},
                   files={"config": ("edge.cfg", b"x", "text/plain")})
    assert bad.status_code == 400 and "yearly" in bad.text
