"""Job variables: the typed inputs a job declares, how submitted values are cleaned, and ``validate_data``.

The package owns the variable classes (``StringVar``, ``TextVar``, ``IntegerVar``, ``BooleanVar``, ``ChoiceVar``,
``MultiChoiceVar``, ``IPAddressVar``, ``IPAddressWithMaskVar``, ``IPNetworkVar``, ``ObjectVar``, ``MultiObjectVar``,
``FileVar``), their user-facing error messages (Django/Nautobot wording) and the validation of a job's data as a
whole (and what ``run()`` receives: ``prepare_run_data``). Job authors import the classes through ``bot.jobs``; the
definition lives here, once.

Values arrive as JSON from the REST API and as strings from Slack (modal inputs and the one-line ``/jobs run`` command),
so every ``clean`` accepts both ``12`` and ``"12"``, ``True`` and ``"true"``. Cleaned values are JSON-serialisable.

Pure: standard library only. Must not import Slack, SQLAlchemy, ``storage`` or ``handlers``.
"""

from __future__ import annotations

from bot.domain.variables.base import REQUIRED_MESSAGE, TypedText, Variable, VariableKind, pretty_name
from bot.domain.variables.choices import ChoiceValue, ChoiceVar, MultiChoiceVar, MultiObjectVar, ObjectVar
from bot.domain.variables.data import NOT_A_DICT_MESSAGE, UNKNOWN_PROPERTY_MESSAGE, prepare_run_data, validate_data
from bot.domain.variables.files import FileVar, SubmittedFile, UploadedFile, describe_file, summarise_data
from bot.domain.variables.network import IPAddressVar, IPAddressWithMaskVar, IPNetworkVar
from bot.domain.variables.scalars import BooleanVar, IntegerVar, StringVar, TextVar

__all__ = [
    "NOT_A_DICT_MESSAGE",
    "REQUIRED_MESSAGE",
    "UNKNOWN_PROPERTY_MESSAGE",
    "BooleanVar",
    "ChoiceValue",
    "ChoiceVar",
    "FileVar",
    "IPAddressVar",
    "IPAddressWithMaskVar",
    "IPNetworkVar",
    "IntegerVar",
    "MultiChoiceVar",
    "MultiObjectVar",
    "ObjectVar",
    "StringVar",
    "SubmittedFile",
    "TextVar",
    "TypedText",
    "UploadedFile",
    "Variable",
    "VariableKind",
    "describe_file",
    "prepare_run_data",
    "pretty_name",
    "summarise_data",
    "validate_data",
]
