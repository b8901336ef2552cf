"""Nautobot job authors at home, in Slack: IP and object variables in the modal and the one-line command, the
approval card showing addresses as typed and files by name and size, files attached in the modal (fetched with the
bot's token), jobs listed by their module's ``name``, and what ``run()`` returned shown when a run finishes."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from bot.scheduler import Dispatcher
from tests.conftest import ADMIN
from tests.fake_slack import text_of
from tests.slack.conftest import APPROVAL_CHANNEL, Stack, press, run_jobs

NET_JOBS = '''
"""Jobs ported from Nautobot."""

import json
from pathlib import Path

from bot.jobs import FileVar, IPAddressVar, IPAddressWithMaskVar, IPNetworkVar, Job, MultiObjectVar, ObjectVar

name = "Network tools"

INVENTORY = Path(__file__).with_name("inventory.json")


def devices():
    return [(device, device.upper()) for device in json.loads(INVENTORY.read_text())]


class TestIPAddresses(Job):
    class Meta:
        has_sensitive_variables = False

    ipv4_address = IPAddressVar()
    ipv4_network = IPNetworkVar()

    def run(self, data, commit):
        self.log_info(message=f"{type(data['ipv4_address']).__name__} in {type(data['ipv4_network']).__name__}")
        return f"{data['ipv4_address']} in {data['ipv4_network']}: {data['ipv4_address'] in data['ipv4_network']}"


class PushConfig(Job):
    class Meta:
        approval_required = True
        has_sensitive_variables = False

    config = FileVar(max_size=100)

    def run(self, data, commit):
        return f"{data['config'].name}: {data['config'].read().decode()}"


class ManyDevices(Job):
    class Meta:
        has_sensitive_variables = False

    device = ObjectVar(choices=lambda: [f"dev-{n}" for n in range(150)], description="The device.")

    def run(self, data, commit):
        return data["device"]


class BrokenInventory(Job):
    class Meta:
        has_sensitive_variables = False

    device = ObjectVar(choices=lambda: json.loads(Path("/nonexistent/inventory.json").read_text()))

    def run(self, data, commit):
        return data["device"]


class AssignAddress(Job):
    class Meta:
        approval_required = True
        has_sensitive_variables = False

    device = ObjectVar(choices=devices)
    peers = MultiObjectVar(choices=devices, required=False)
    address = IPAddressWithMaskVar()

    def run(self, data, commit):
        self.log_info(message=f"{data['address'].ip} on {data['device']}")
'''


@pytest.fixture
def jobs_dir(jobs_dir: Path) -> Path:
    (jobs_dir / "netjobs.py").write_text(NET_JOBS)
    (jobs_dir / "inventory.json").write_text(json.dumps(["core1", "core2"]))
    return jobs_dir


def test_jobs_list_shows_jobs_in_sections_named_by_their_module(stack: Stack) -> None:
    stack.slack.command("list", user_id="UALICE")
    text = text_of(stack.fake.wait_for("response_url")[0])
    assert "*Network tools*\n*AssignAddress* (`netjobs.AssignAddress`)" in text
    assert "*testjobs*\n" in text  # a module without a name: its module name
    assert text.index("*Network tools*") < text.index("*testjobs*")


def test_the_one_line_command_refuses_a_bad_address_naming_the_field(stack: Stack) -> None:
    stack.slack.command("run netjobs.TestIPAddresses ipv4_address=10.0.0.1/24 ipv4_network=10.0.0.0/24",
                        user_id="UALICE")
    reply = text_of(stack.fake.wait_for("response_url")[0])
    assert "ipv4_address" in reply
    assert "Enter an IP address without a mask (such as 10.0.0.1), not 10.0.0.1/24." in reply
    assert stack.services.listings.list_job_results(ADMIN).items == []


def test_a_run_s_return_value_is_shown_in_its_finished_message(stack: Stack) -> None:
    stack.slack.command("run netjobs.TestIPAddresses ipv4_address=192.0.2.1 ipv4_network=192.0.2.0/24",
                        user_id="UALICE")
    stack.fake.wait_for("response_url")
    run_jobs(stack)
    stack.deliver()
    finished, log = stack.posted("UALICE")
    assert "Returned:\n```192.0.2.1 in 192.0.2.0/24: True```" in text_of(finished)
    assert "IPv4Address in IPv4Network" in text_of(log)


def test_the_modal_offers_the_job_s_current_objects_and_errors_come_back_inline(stack: Stack, jobs_dir: Path) -> None:
    (jobs_dir / "inventory.json").write_text(json.dumps(["core1", "edge9"]))  # changed since the jobs were loaded
    stack.slack.command("run netjobs.AssignAddress", user_id="UALICE")
    stack.fake.wait_for("views.open")
    modal = stack.opened_view()
    inputs = {b["block_id"]: b["element"] for b in modal["blocks"] if b["type"] == "input"}
    assert inputs["var:device"]["type"] == "static_select"
    assert [o["value"] for o in inputs["var:device"]["options"]] == ["core1", "edge9"]
    assert inputs["var:peers"]["type"] == "multi_static_select"
    assert inputs["var:address"]["type"] == "plain_text_input"

    ack = stack.slack.submit(modal, {"var:device": "core1", "var:address": "10.0.0.7"}, user_id="UALICE")
    assert ack.json == {"response_action": "errors", "errors": {
        "var:address": "Enter an address with a CIDR mask (such as 10.0.0.1/24), not 10.0.0.7."}}
    (jobs_dir / "inventory.json").write_text(json.dumps(["core1"]))  # edge9 left the inventory meanwhile
    ack = stack.slack.submit(modal, {"var:device": "edge9", "var:address": "10.0.0.7/24"}, user_id="UALICE")
    assert ack.json == {"response_action": "errors", "errors": {
        "var:device": "Select a valid choice. edge9 is not one of the available choices."}}

    ack = stack.slack.submit(modal, {"var:device": "core1", "var:peers": ["core1"], "var:address": "10.0.0.7/24"},
                             user_id="UALICE")
    assert ack.json is not None and ack.json["response_action"] == "update", ack.json
    stack.deliver()
    card = stack.posted(APPROVAL_CHANNEL)[0]
    assert "Address: 10.0.0.7/24" in text_of(card) and "Peers: CORE1" in text_of(card)  # as the modal labels them


CONFIG = b"hostname core1\n"


def test_a_file_attached_in_the_modal_is_fetched_with_the_bot_token_and_the_approved_run_has_it(
    stack: Stack,
) -> None:
    stack.slack.command("run netjobs.PushConfig", user_id="UALICE")
    stack.fake.wait_for("views.open")
    modal = stack.opened_view()
    block = next(b for b in modal["blocks"] if b.get("block_id") == "var:config")
    assert block["element"] == {"type": "file_input", "action_id": block["element"]["action_id"], "max_files": 1}
    assert block["hint"]["text"] == "One file, at most 100 bytes."
    attached = stack.fake.attach_file("core1.cfg", CONFIG)
    ack = stack.slack.submit(modal, {"var:config": [attached]}, user_id="UALICE")
    assert ack.json is not None and ack.json["response_action"] == "update", ack.json
    assert [c.params["file"] for c in stack.fake.calls_to("files.info")] == [attached["id"]]
    assert [c.status for c in stack.fake.calls_to("file_download")] == [200]  # the bot's token was sent
    stack.deliver()
    card = stack.posted(APPROVAL_CHANNEL)[0]
    assert f"Config: core1.cfg ({len(CONFIG)} bytes)" in text_of(card)  # its name and size, as the modal labels it
    assert "hostname" not in text_of(card)

    press(stack, card, "Approve", user_id="UAPPROVER")  # the message itself says so, updated in place
    Dispatcher(stack.core.db, grace=timedelta(hours=1), clock=stack.clock).dispatch_all_due(now=stack.clock.now)
    run_jobs(stack)
    result = stack.services.listings.list_job_results(ADMIN).items[0]
    assert (result.status.value, result.output) == ("completed", "core1.cfg: hostname core1\n")


def test_file_problems_come_back_on_the_file_input(stack: Stack) -> None:
    stack.slack.command("run netjobs.PushConfig", user_id="UALICE")
    stack.fake.wait_for("views.open")
    modal = stack.opened_view()
    big = stack.fake.attach_file("big.cfg", b"x" * 101)
    ack = stack.slack.submit(modal, {"var:config": [big]}, user_id="UALICE")
    assert ack.json == {"response_action": "errors", "errors": {
        "var:config": "The file is too large: 101 bytes; at most 100 bytes are accepted."}}
    gone = {**big, "id": "F0DELETED"}
    ack = stack.slack.submit(modal, {"var:config": [gone]}, user_id="UALICE")
    assert ack.json == {"response_action": "errors", "errors": {
        "var:config": "Slack did not give jobgate the file (file_not_found); attach it again."}}
    ack = stack.slack.submit(modal, {"var:config": []}, user_id="UALICE")
    assert ack.json == {"response_action": "errors", "errors": {"var:config": "This field is required."}}
    assert stack.services.listings.list_approval_queue(ADMIN).items == []


def test_the_one_line_command_says_a_file_needs_the_form(stack: Stack) -> None:
    stack.slack.command("run netjobs.PushConfig config=aGVsbG8=", user_id="UALICE")
    reply = text_of(stack.fake.wait_for("response_url")[0])
    assert "attach it in the form that `/jobs run netjobs.PushConfig` opens" in reply


def test_more_choices_than_a_menu_shows_are_typed_and_still_checked(stack: Stack) -> None:
    stack.slack.command("run netjobs.ManyDevices", user_id="UALICE")
    stack.fake.wait_for("views.open")
    modal = stack.opened_view()
    block = next(b for b in modal["blocks"] if b.get("block_id") == "var:device")
    assert block["element"]["type"] == "plain_text_input"
    assert block["hint"]["text"] == (
        "The device. 150 choices, more than a menu shows: type the value (several: comma-separated)."
    )
    ack = stack.slack.submit(modal, {"var:device": "dev-150"}, user_id="UALICE")
    assert ack.json == {"response_action": "errors", "errors": {
        "var:device": "Select a valid choice. dev-150 is not one of the available choices."}}
    ack = stack.slack.submit(modal, {"var:device": "dev-149"}, user_id="UALICE")
    assert ack.json is not None and ack.json["response_action"] == "update", ack.json


def test_choices_that_cannot_be_loaded_still_open_the_modal_saying_so(stack: Stack) -> None:
    stack.slack.command("run netjobs.BrokenInventory", user_id="UALICE")
    stack.fake.wait_for("views.open")
    block = next(b for b in stack.opened_view()["blocks"] if b.get("block_id") == "var:device")
    assert block["element"]["type"] == "plain_text_input"
    assert block["hint"]["text"] == "The choices could not be loaded (FileNotFoundError). Type the value."
    ack = stack.slack.submit(stack.opened_view(), {"var:device": "core1"}, user_id="UALICE")
    assert ack.json == {"response_action": "errors", "errors": {
        "var:device": "The choices could not be loaded (FileNotFoundError)."}}
