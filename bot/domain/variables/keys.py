"""The key variable of a job: the one input that tells its runs apart at a glance ("Reboot device · core-sw-17").

A job's ``Meta.key_variable`` names it; else it is the first one-line text variable (``StringVar``) that always has a
value: required, or with a default. Edges title a request with the job's name and that variable's value. A job
with sensitive variables has no stored data, so its key value is never shown.

Pure: standard library only. Must not import Slack, SQLAlchemy, ``storage`` or ``handlers``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.domain.variables.base import VariableKind

KEY_MARK = "key"
"""The flag set on the stored description of the variable a job's ``Meta.key_variable`` names."""


def key_variable(specs: Mapping[str, Mapping[str, Any]]) -> str | None:
    """The name of a job's key variable, from its stored variable descriptions (in declaration order).

    Args:
        specs: variable name → its description (``Variable.describe()``, plus :data:`KEY_MARK` where the job named
            it).

    Returns:
        The variable the job named, else the first ``string`` variable that is required or has a default, else None.
    """
    for name, spec in specs.items():
        if spec.get(KEY_MARK) is True:
            return name
    for name, spec in specs.items():
        if spec.get("kind") == VariableKind.STRING.value and (spec.get("required", True)
                                                               or spec.get("default") not in (None, "")):
            return name
    return None


def key_value(specs: Mapping[str, Mapping[str, Any]], data: Mapping[str, Any] | None) -> str | None:
    """The value of the key variable in a request's data as text, or None (no key variable, no stored data, or an
    empty value)."""
    name = key_variable(specs)
    if name is None or not data:
        return None
    value = data.get(name)
    if value is None or isinstance(value, bool | dict | list):
        return None
    text = str(value).strip()
    return text or None
