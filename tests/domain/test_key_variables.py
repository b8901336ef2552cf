"""The key variable that names a request next to its job ("Reboot device · core-sw-17")."""

from __future__ import annotations

import pytest

from bot.domain.variables.keys import KEY_MARK, key_value, key_variable
from bot.jobs import BooleanVar, IntegerVar, Job, StringVar, TextVar, job_info


class Reboot(Job):
    class Meta:
        name = "Reboot device"
        has_sensitive_variables = False

    note = TextVar()
    force = BooleanVar()
    delay = IntegerVar(default=0)
    site = StringVar(required=False)
    device = StringVar()
    port = StringVar()

    def run(self, data: dict[str, object], commit: bool) -> None:
        pass


class RebootByPort(Reboot):
    class Meta:
        name = "Reboot by port"
        has_sensitive_variables = False
        key_variable = "port"


def specs(cls: type[Job]) -> dict[str, dict[str, object]]:
    info = job_info(cls)
    return {name: {**var.describe(), **({KEY_MARK: True} if name == info.key_variable else {})}
            for name, var in info.variables.items()}


def test_without_meta_the_key_is_the_first_string_variable_that_always_has_a_value() -> None:
    assert job_info(Reboot).key_variable is None
    assert key_variable(specs(Reboot)) == "device"  # not the text, the switch, the number or the optional site
    assert key_value(specs(Reboot), {"device": " core-sw-17 ", "port": "1/1"}) == "core-sw-17"


def test_meta_key_variable_names_it() -> None:
    assert job_info(RebootByPort).key_variable == "port"
    assert key_variable(specs(RebootByPort)) == "port"
    assert key_value(specs(RebootByPort), {"device": "core-sw-17", "port": "Gi1/0/7"}) == "Gi1/0/7"


def test_a_default_counts_as_always_having_a_value() -> None:
    assert key_variable({"site": {"kind": "string", "required": False, "default": "fra1"},
                         "device": {"kind": "string", "required": True}}) == "site"


@pytest.mark.parametrize(("data", "expected"), [(None, None), ({}, None), ({"device": ""}, None),
                                                ({"device": ["a"]}, None), ({"device": 17}, "17")])
def test_no_value_or_no_stored_data_means_no_key(data: dict[str, object] | None, expected: str | None) -> None:
    assert key_value(specs(Reboot), data) == expected


def test_a_job_without_such_a_variable_has_no_key() -> None:
    assert key_variable({"delay": {"kind": "integer", "required": True}}) is None


def test_a_key_variable_that_is_not_a_variable_stops_the_job_from_loading() -> None:
    with pytest.raises(ValueError, match=r"Broken\.Meta\.key_variable must name one of its variables "
                                         r"\(note, .*\), not 'hostname'"):
        class Broken(Reboot):  # checked as the class is defined, as every Meta option
            class Meta:
                name = "Broken"
                key_variable = "hostname"
