"""Nautobot's IP variables (on ``ipaddress``) and object variables (choices computed by the job)."""

from __future__ import annotations

import ipaddress
import json

import pytest

from bot.domain.errors import InvalidDataError
from bot.domain.variables import (
    IPAddressVar,
    IPAddressWithMaskVar,
    IPNetworkVar,
    MultiObjectVar,
    ObjectVar,
    Variable,
    prepare_run_data,
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
