"""Nautobot's IP variables (on ``ipaddress``), object variables (choices computed by the job) and file variables."""

from __future__ import annotations

import base64
import ipaddress
import json

import pytest

from bot.domain.errors import InvalidDataError
from bot.domain.variables import (
    FileVar,
    IPAddressVar,
    IPAddressWithMaskVar,
    IPNetworkVar,
    MultiObjectVar,
    ObjectVar,
    StringVar,
    SubmittedFile,
    TypedText,
    UploadedFile,
    Variable,
    prepare_run_data,
    summarise_data,
    validate_data,
)


def message_of(variable: Variable, value: object) -> str:
    with pytest.raises(ValueError) as caught:
        variable.clean(value)
    return str(caught.value)


# --- IP variables ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "stored", "received"),
    [
        (" 10.0.0.1 ", "10.0.0.1", ipaddress.IPv4Address("10.0.0.1")),
        ("2001:DB8::0:1", "2001:db8::1", ipaddress.IPv6Address("2001:db8::1")),
    ],
)
def test_an_address_is_stored_as_text_and_received_as_an_ipaddress_object(
    value: str, stored: str, received: object
) -> None:
    variable = IPAddressVar()
    cleaned = variable.clean(value)
    assert cleaned == stored and json.loads(json.dumps(cleaned)) == stored
    assert variable.to_python(cleaned) == received


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("10.0.0.1/24", "Enter an IP address without a mask (such as 10.0.0.1), not 10.0.0.1/24."),
        ("10.0.0.300", "Enter a valid IPv4 or IPv6 address."),
        ("router1", "Enter a valid IPv4 or IPv6 address."),
        (167772161, "Enter a valid IPv4 or IPv6 address."),
    ],
)
def test_an_address_refuses_a_mask_and_garbage(value: object, message: str) -> None:
    assert message_of(IPAddressVar(), value) == message


def test_an_address_with_mask_needs_its_mask_and_keeps_host_bits() -> None:
    variable = IPAddressWithMaskVar()
    cleaned = variable.clean("10.0.0.7/24")
    assert cleaned == "10.0.0.7/24"
    interface = variable.to_python(cleaned)
    assert isinstance(interface, ipaddress.IPv4Interface)
    assert (str(interface.ip), str(interface.network)) == ("10.0.0.7", "10.0.0.0/24")
    assert message_of(variable, "10.0.0.7") == "Enter an address with a CIDR mask (such as 10.0.0.1/24), not 10.0.0.7."
    assert message_of(variable, "10.0.0.7/33") == "Enter a valid IPv4 or IPv6 address."


def test_a_network_is_strict_about_host_bits_and_its_mask() -> None:
    variable = IPNetworkVar()
    assert variable.to_python(variable.clean("2001:db8::/32")) == ipaddress.IPv6Network("2001:db8::/32")
    assert message_of(variable, "10.0.0.1/24") == (
        "10.0.0.1/24 has host bits set: enter the network address (10.0.0.0/24)."
    )
    assert message_of(variable, "10.0.0.0") == (
        "Enter a network with a CIDR mask (such as 10.0.0.0/24), not 10.0.0.0."
    )


def test_a_network_s_prefix_length_bounds() -> None:
    variable = IPNetworkVar(min_prefix_length=16, max_prefix_length=29)
    assert variable.clean("10.1.0.0/16") == "10.1.0.0/16"
    assert message_of(variable, "10.0.0.0/8") == "The prefix length must be at least /16."
    assert message_of(variable, "10.0.0.0/30") == "The prefix length must be at most /29."
    assert variable.describe()["min_prefix_length"] == 16
    with pytest.raises(ValueError, match="greater than max_prefix_length"):
        IPNetworkVar(min_prefix_length=30, max_prefix_length=24)
    with pytest.raises(ValueError, match="Invalid default"):
        IPNetworkVar(default="10.0.0.1/8")


def test_validate_data_names_the_field_and_prepare_gives_the_job_objects() -> None:
    variables = {"address": IPAddressVar(), "network": IPNetworkVar(), "gateway": IPAddressVar(required=False)}
    for name, variable in variables.items():
        variable.__set_name__(object, name)
    with pytest.raises(InvalidDataError) as caught:
        validate_data(variables, {"address": "10.0.0.1/32", "network": "10.0.0.0/24"})
    assert caught.value.errors == {
        "address": ["Enter an IP address without a mask (such as 10.0.0.1), not 10.0.0.1/32."]
    }
    cleaned = validate_data(variables, {"address": "10.0.0.1", "network": "10.0.0.0/24"})
    assert cleaned == {"address": "10.0.0.1", "network": "10.0.0.0/24", "gateway": None}
    prepared = prepare_run_data(variables, cleaned)
    assert prepared == {"address": ipaddress.ip_address("10.0.0.1"), "network": ipaddress.ip_network("10.0.0.0/24"),
                        "gateway": None}


# --- ObjectVar / MultiObjectVar --------------------------------------------------------------------------------------


def test_an_object_variable_follows_the_current_answer_of_its_callable() -> None:
    inventory = [("core1", "Core router 1"), ("core2", "Core router 2")]
    variable = ObjectVar(choices=lambda: list(inventory), description="Device")
    variable.__set_name__(object, "device")
    assert variable.clean("core2") == "core2"
    assert variable.describe()["choices"] == [["core1", "Core router 1"], ["core2", "Core router 2"]]
    inventory.append(("edge1", "Edge 1"))
    assert variable.clean("edge1") == "edge1"
    inventory.remove(("core2", "Core router 2"))
    assert message_of(variable, "core2") == "Select a valid choice. core2 is not one of the available choices."
    assert variable.describe()["choices"][-1] == ["edge1", "Edge 1"]


def test_a_multi_object_variable_takes_a_list_or_comma_separated_text() -> None:
    variable = MultiObjectVar(choices=lambda: ["uplink1", "uplink2", "peering1"], required=False)
    assert variable.clean("uplink2, uplink1") == ["uplink2", "uplink1"]
    assert variable.clean(["peering1"]) == ["peering1"]
    assert variable.clean(None) == []
    assert message_of(variable, "uplink1, nope") == "Select a valid choice. nope is not one of the available choices."


def test_an_object_variable_s_default_is_checked_against_the_current_choices() -> None:
    choices = ["a", "b"]
    variable = ObjectVar(choices=lambda: choices, default="b")
    assert variable.clean(None) == "b"
    choices.remove("b")
    assert message_of(variable, None) == "Select a valid choice. b is not one of the available choices."


def test_a_failing_callable_is_a_clear_message_not_a_crash() -> None:
    def broken() -> list[str]:
        raise ConnectionError("inventory down at 10.9.9.9")

    variable = ObjectVar(choices=broken)
    assert message_of(variable, "x") == "The choices could not be loaded (ConnectionError)."
    described = variable.describe()
    assert described["choices"] == [] and described["choices_error"] == (
        "The choices could not be loaded (ConnectionError)."
    )


def test_nautobot_s_model_argument_is_refused_saying_what_to_write() -> None:
    with pytest.raises(TypeError, match=r"no Nautobot models.*choices=.*\(got model, query_params\)"):
        ObjectVar(model=object, query_params={"site": "$site"})
    with pytest.raises(TypeError, match="no Nautobot models"):
        ObjectVar(choices=["a", "b"])


# --- FileVar ---------------------------------------------------------------------------------------------------------


def test_a_file_is_stored_as_json_and_received_as_a_file_like_object() -> None:
    variable = FileVar(max_size=64)
    variable.__set_name__(object, "config")
    stored = variable.clean(SubmittedFile(name="core1.cfg", content=b"hostname core1\n", content_type="text/plain"))
    assert json.loads(json.dumps(stored)) == stored
    assert summarise_data({"config": stored, "device": "core1"}) == {
        "config": {"name": "core1.cfg", "size": 15, "content_type": "text/plain"}, "device": "core1"}
    received = variable.to_python(stored)
    assert isinstance(received, UploadedFile)
    assert (received.name, received.size, received.content_type) == ("core1.cfg", 15, "text/plain")
    assert received.read() == b"hostname core1\n" and b"".join(received.chunks(4)) == b"hostname core1\n"
    assert variable.clean(stored) == stored  # a stored file cleans to itself (a scheduled run, a dry run)


def test_a_file_from_the_api_is_base64_text_or_a_named_object() -> None:
    variable = FileVar()
    variable.__set_name__(object, "config")
    content = base64.b64encode(b"\x00\x01binary").decode()
    assert variable.clean(content)["name"] == "config"  # type: ignore[index]
    named = variable.clean({"name": "a.bin", "content": content, "content_type": "application/octet-stream"})
    assert variable.to_python(named).read() == b"\x00\x01binary"  # type: ignore[attr-defined]
    assert message_of(variable, "not base64!") == "The file's content is not valid base64."
    assert message_of(variable, 42).startswith("Attach a file: its content in base64")
    assert message_of(variable, None) == "This field is required."


def test_a_file_over_its_size_limit_is_refused_saying_both_sizes() -> None:
    variable = FileVar(max_size=10)
    assert message_of(variable, SubmittedFile(name="big", content=b"x" * 11)) == (
        "The file is too large: 11 bytes; at most 10 bytes are accepted."
    )
    assert FileVar().describe()["max_size"] == 512 * 1024
    with pytest.raises(TypeError, match="max_size must be a positive number of bytes"):
        FileVar(max_size=0)


def test_a_file_typed_on_the_one_line_command_is_refused_saying_where_to_attach_it() -> None:
    assert message_of(FileVar(), TypedText("aGVsbG8=")) == (
        "A file cannot be typed on the command line: attach it in the form `/jobs run JOB` opens."
    )
    assert StringVar().clean(TypedText(" core1 ")) == "core1"


def test_run_data_follows_the_declaration_order_whatever_order_it_was_stored_in() -> None:
    variables = {"zone": IPNetworkVar(), "address": IPAddressVar(), "note": StringVar(required=False)}
    stored = {"note": None, "extra": 1, "address": "10.0.0.1", "zone": "10.0.0.0/8"}  # as PostgreSQL's JSONB keeps it
    assert list(prepare_run_data(variables, stored)) == ["zone", "address", "note", "extra"]
