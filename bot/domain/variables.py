"""Job variables: the typed inputs a job declares, how submitted values are cleaned, and ``validate_data``.

Owns the variable classes (``StringVar``, ``TextVar``, ``IntegerVar``, ``BooleanVar``, ``ChoiceVar``,
``MultiChoiceVar``), their user-facing error messages (Django/Nautobot wording) and the validation of a job's data as a
whole. Job authors import the classes through ``bot.jobs``; the definition lives here, once.

Values arrive as JSON from the REST API and as strings from Slack (modal inputs and the one-line ``/jobs run`` command),
so every ``clean`` accepts both ``12`` and ``"12"``, ``True`` and ``"true"``. Cleaned values are JSON-serialisable.

Pure: standard library only. Must not import Slack, SQLAlchemy, ``storage`` or ``handlers``.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from enum import StrEnum
from typing import ClassVar

from bot.domain.errors import InvalidDataError

REQUIRED_MESSAGE = "This field is required."
NOT_A_DICT_MESSAGE = "Job data needs to be a dict"
UNKNOWN_PROPERTY_MESSAGE = "Job data contained an unknown property"

_INTEGER_STRING = re.compile(r"[+-]?\d+(?:\.0*)?")
_TRUE_STRINGS = frozenset({"true", "yes", "1", "on"})
_FALSE_STRINGS = frozenset({"false", "no", "0", "off"})

ChoiceValue = str | int | float


class VariableKind(StrEnum):
    """What kind of input a variable is; edges pick a widget from it.

    STRING: one line of text.
    TEXT: several lines of text.
    INTEGER: a whole number.
    BOOLEAN: a yes/no switch (never required; absent means False).
    CHOICE: one value out of a fixed list.
    MULTICHOICE: any number of values out of a fixed list.
    """

    STRING = "string"
    TEXT = "text"
    INTEGER = "integer"
    BOOLEAN = "boolean"
    CHOICE = "choice"
    MULTICHOICE = "multichoice"


def pretty_name(name: str) -> str:
    """Turn a variable name into a label, as Django does: ``device_name`` -> ``Device name``.

    Args:
        name: the attribute name.

    Returns:
        The name with underscores replaced by spaces, capitalised.
    """
    return name.replace("_", " ").capitalize()


class Variable(ABC):
    """Base class of every job variable.

    A variable is declared as a class attribute of a job; ``name`` is set from that attribute
    (``__set_name__``). Variables are required unless ``required=False``, as in Nautobot; an empty value (absent,
    ``None``, blank string, empty list) takes the ``default`` when there is one.

    Attributes:
        kind: the kind of input (class-level).
        name: the attribute name in the job ("" until the variable is placed in a class).
        description: help text shown under the input.
        default: the cleaned default value, or None.
        required: whether an empty value is refused (when there is no default).
    """

    kind: ClassVar[VariableKind] = VariableKind.STRING

    def __init__(
        self,
        *,
        label: str | None = None,
        description: str = "",
        default: object = None,
        required: bool = True,
    ) -> None:
        """Create a variable.

        Args:
            label: the label shown to users; defaults to the name, prettified.
            description: help text.
            default: value used when none is submitted; it must itself be valid.
            required: refuse an empty value when there is no default.

        Raises:
            TypeError: an argument has the wrong type.
            ValueError: the default does not satisfy the variable's own rules.
        """
        if label is not None and not isinstance(label, str):
            raise TypeError(f"{type(self).__name__} label must be a string, not {type(label).__name__}")
        if not isinstance(description, str):
            raise TypeError(f"{type(self).__name__} description must be a string, not {type(description).__name__}")
        if not isinstance(required, bool):
            raise TypeError(f"{type(self).__name__} required must be True or False, not {required!r}")
        self.name = ""
        self._label = label
        self.description = description
        self.required = required
        self.default: object = None
        self._raw_default = default

    def _check_default(self) -> None:
        """Clean the default given to the constructor; subclasses call this once their bounds are set.

        Raises:
            ValueError: the default is not a valid value for this variable.
        """
        raw, self._raw_default = self._raw_default, None
        if self._is_empty(raw):
            return
        try:
            self.default = self._convert(raw)
        except ValueError as exc:
            raise ValueError(f"Invalid default {raw!r} for {type(self).__name__}: {exc}") from None

    def __set_name__(self, owner: type, name: str) -> None:
        """Record the attribute name under which the variable was declared."""
        self.name = name

    @property
    def label(self) -> str:
        """The label shown to users: the explicit one, else the prettified name."""
        if self._label is not None:
            return self._label
        return pretty_name(self.name)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name or '(unbound)'}>"

    def _is_empty(self, value: object) -> bool:
        """Whether ``value`` counts as "nothing submitted"."""
        if value is None:
            return True
        if isinstance(value, str):
            return not value.strip()
        if isinstance(value, list | tuple):
            return not value
        return False

    @abstractmethod
    def _convert(self, value: object) -> object:
        """Convert and validate a non-empty value (each variable type says how).

        Raises:
            ValueError: with the user-facing message.
        """

    def clean(self, value: object) -> object:
        """Clean one submitted value.

        Args:
            value: the value as submitted (JSON value or Slack string); None when absent.

        Returns:
            The cleaned, JSON-serialisable value; the default for an empty value when there is one, else the
            variable's empty value (None, or False for booleans, [] for multiple choices).

        Raises:
            ValueError: the value is invalid; the message is meant for the user.
        """
        if self._is_empty(value):
            if isinstance(self.default, list):
                return list(self.default)  # a job may change its data; the default must not change with it
            if self.default is not None:
                return self.default
            if self.required:
                raise ValueError(REQUIRED_MESSAGE)
            return self._empty()
        return self._convert(value)

    def _empty(self) -> object:
        """The cleaned value of an optional variable left empty."""
        return None

    def describe(self) -> dict[str, object]:
        """Describe the variable for the REST API and the Slack modal.

        Returns:
            A JSON-able dict: ``name``, ``type`` (class name), ``kind``, ``label``, ``description``, ``default``,
            ``required`` and the type's bounds or choices.
        """
        return {
            "name": self.name,
            "type": type(self).__name__,
            "kind": str(self.kind),
            "label": self.label,
            "description": self.description,
            "default": self.default,
            "required": self.required,
        }


def _optional_int(owner: str, arg: str, value: object) -> int | None:
    """Check that a bound is None or an int (not a bool)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{owner} {arg} must be a whole number or None, not {value!r}")
    return value


def _characters(n: int) -> str:
    return "character" if n == 1 else "characters"


class StringVar(Variable):
    """One line of text, optionally bounded in length and matched against a regular expression.

    Leading and trailing whitespace is removed (as Django's ``CharField`` does). ``regex`` is searched in the value
    (``re.search``, as Django's ``RegexValidator``): anchor it with ``^…$`` to match the whole value.
    """

    kind = VariableKind.STRING

    def __init__(
        self,
        *,
        min_length: int | None = None,
        max_length: int | None = None,
        regex: str | None = None,
        label: str | None = None,
        description: str = "",
        default: object = None,
        required: bool = True,
    ) -> None:
        """Create a text variable.

        Args:
            min_length: minimum number of characters.
            max_length: maximum number of characters.
            regex: a pattern the value must contain a match for.
            label: see ``Variable``.
            description: see ``Variable``.
            default: see ``Variable``.
            required: see ``Variable``.

        Raises:
            TypeError: a bound has the wrong type.
            ValueError: negative bounds, ``min_length > max_length``, an invalid regex or an invalid default.
        """
        super().__init__(label=label, description=description, default=default, required=required)
        owner = type(self).__name__
        self.min_length = _optional_int(owner, "min_length", min_length)
        self.max_length = _optional_int(owner, "max_length", max_length)
        for arg, bound in (("min_length", self.min_length), ("max_length", self.max_length)):
            if bound is not None and bound < 0:
                raise ValueError(f"{owner} {arg} must not be negative, got {bound}")
        if self.min_length is not None and self.max_length is not None and self.min_length > self.max_length:
            raise ValueError(f"{owner} min_length ({self.min_length}) is greater than max_length ({self.max_length})")
        if regex is not None and not isinstance(regex, str):
            raise TypeError(f"{owner} regex must be a string or None, not {type(regex).__name__}")
        self.regex = regex
        try:
            self._pattern = re.compile(regex) if regex is not None else None
        except re.error as exc:
            raise ValueError(f"{owner} regex {regex!r} is invalid: {exc}") from None
        self._check_default()

    def _convert(self, value: object) -> object:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ValueError("Enter a valid string.")
        try:
            text = str(value).strip()
        except ValueError:  # an int too large to print
            raise ValueError("Enter a valid string.") from None
        if self.min_length is not None and len(text) < self.min_length:
            raise ValueError(
                f"Ensure this value has at least {self.min_length} {_characters(self.min_length)} (it has {len(text)})."
            )
        if self.max_length is not None and len(text) > self.max_length:
            raise ValueError(
                f"Ensure this value has at most {self.max_length} {_characters(self.max_length)} (it has {len(text)})."
            )
        if self._pattern is not None and not self._pattern.search(text):
            raise ValueError(f"Enter a value matching the pattern {self.regex}.")
        return text

    def describe(self) -> dict[str, object]:
        """Describe the variable, with ``min_length``, ``max_length`` and ``regex``."""
        return {**super().describe(), "min_length": self.min_length, "max_length": self.max_length, "regex": self.regex}


class TextVar(StringVar):
    """Several lines of text; the same bounds as ``StringVar``."""

    kind = VariableKind.TEXT


class IntegerVar(Variable):
    """A whole number, optionally bounded; accepts ints and integer strings such as ``"12"``."""

    kind = VariableKind.INTEGER

    def __init__(
        self,
        *,
        min_value: int | None = None,
        max_value: int | None = None,
        label: str | None = None,
        description: str = "",
        default: object = None,
        required: bool = True,
    ) -> None:
        """Create an integer variable.

        Args:
            min_value: smallest allowed value.
            max_value: largest allowed value.
            label: see ``Variable``.
            description: see ``Variable``.
            default: see ``Variable``.
            required: see ``Variable``.

        Raises:
            TypeError: a bound is not a whole number.
            ValueError: ``min_value > max_value`` or an invalid default.
        """
        super().__init__(label=label, description=description, default=default, required=required)
        owner = type(self).__name__
        self.min_value = _optional_int(owner, "min_value", min_value)
        self.max_value = _optional_int(owner, "max_value", max_value)
        if self.min_value is not None and self.max_value is not None and self.min_value > self.max_value:
            raise ValueError(f"{owner} min_value ({self.min_value}) is greater than max_value ({self.max_value})")
        self._check_default()

    def _convert(self, value: object) -> object:
        number: int
        if isinstance(value, bool):
            raise ValueError("Enter a whole number.")
        if isinstance(value, int):
            number = value
        elif isinstance(value, float):
            if not value.is_integer():
                raise ValueError("Enter a whole number.")
            number = int(value)
        elif isinstance(value, str) and _INTEGER_STRING.fullmatch(value.strip()):
            try:
                number = int(value.strip().partition(".")[0])
            except ValueError:  # more digits than int() accepts
                raise ValueError("Enter a whole number.") from None
        else:
            raise ValueError("Enter a whole number.")
        if self.min_value is not None and number < self.min_value:
            raise ValueError(f"Ensure this value is greater than or equal to {self.min_value}.")
        if self.max_value is not None and number > self.max_value:
            raise ValueError(f"Ensure this value is less than or equal to {self.max_value}.")
        return number

    def describe(self) -> dict[str, object]:
        """Describe the variable, with ``min_value`` and ``max_value``."""
        return {**super().describe(), "min_value": self.min_value, "max_value": self.max_value}


class BooleanVar(Variable):
    """True or false. Never required: absent means False (or the default).

    Accepts bools, 0 and 1, and the strings true/false, yes/no, 1/0, on/off in any case.
    """

    kind = VariableKind.BOOLEAN

    def __init__(
        self,
        *,
        label: str | None = None,
        description: str = "",
        default: object = None,
        required: bool = False,
    ) -> None:
        """Create a boolean variable.

        Args:
            label: see ``Variable``.
            description: see ``Variable``.
            default: True or False (None means False).
            required: accepted for compatibility and ignored: a boolean is never required.

        Raises:
            ValueError: the default is not a boolean.
        """
        super().__init__(label=label, description=description, default=default, required=bool(required))
        self.required = False
        self._check_default()
        if self.default is None:
            self.default = False

    def _convert(self, value: object) -> object:
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        if isinstance(value, str):
            word = value.strip().lower()
            if word in _TRUE_STRINGS:
                return True
            if word in _FALSE_STRINGS:
                return False
        raise ValueError("Enter true or false.")

    def _empty(self) -> object:
        return False


def _normalise_choices(owner: str, choices: object) -> list[tuple[ChoiceValue, str]]:
    """Turn ``choices`` (pairs, plain values or a mapping) into ``[(value, label), ...]``.

    Raises:
        TypeError: choices is not a sequence/mapping, or a value is not a string or number.
        ValueError: no choices, or a value appears twice.
    """
    items: Iterable[object]
    if isinstance(choices, Mapping):
        items = list(choices.items())
    elif isinstance(choices, Sequence) and not isinstance(choices, str | bytes):
        items = choices
    else:
        raise TypeError(f"{owner} choices must be a sequence of (value, label) pairs or of values, not {choices!r}")
    result: list[tuple[ChoiceValue, str]] = []
    seen: set[str] = set()
    for item in items:
        if isinstance(item, tuple | list):
            if len(item) != 2:
                raise TypeError(f"{owner} choice {item!r} must be a (value, label) pair")
            value, label = item
        else:
            value, label = item, item
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise TypeError(f"{owner} choice values must be strings or numbers, not {value!r}")
        if str(value) in seen:
            raise ValueError(f"{owner} choice {value!r} appears more than once")
        seen.add(str(value))
        result.append((value, str(label)))
    if not result:
        raise ValueError(f"{owner} needs at least one choice")
    return result


def _invalid_choice(value: object) -> ValueError:
    return ValueError(f"Select a valid choice. {value} is not one of the available choices.")


class ChoiceVar(Variable):
    """One value out of ``choices``: ``(value, label)`` pairs, or plain values that are their own labels.

    A submitted value matches a choice by its text, so ``"2"`` selects the choice ``2``; the cleaned value is the
    choice's own value.
    """

    kind = VariableKind.CHOICE

    def __init__(
        self,
        choices: object,
        *,
        label: str | None = None,
        description: str = "",
        default: object = None,
        required: bool = True,
    ) -> None:
        """Create a choice variable.

        Args:
            choices: a sequence of ``(value, label)`` pairs or of plain values (or a value -> label mapping).
            label: see ``Variable``.
            description: see ``Variable``.
            default: see ``Variable``; must be one of the choices.
            required: see ``Variable``.

        Raises:
            TypeError: choices has the wrong shape.
            ValueError: no choices, duplicate values, or a default that is not a choice.
        """
        super().__init__(label=label, description=description, default=default, required=required)
        self.choices = _normalise_choices(type(self).__name__, choices)
        self._by_text: dict[str, ChoiceValue] = {str(value): value for value, _ in self.choices}
        self._check_default()

    def _match(self, value: object) -> ChoiceValue:
        """The choice ``value`` selects.

        Raises:
            ValueError: it selects none.
        """
        if isinstance(value, str):
            key: str | None = value.strip()
        elif isinstance(value, int | float) and not isinstance(value, bool):
            key = str(value)
        else:
            key = None
        if key is None or key not in self._by_text:
            raise _invalid_choice(value)
        return self._by_text[key]

    def _convert(self, value: object) -> object:
        return self._match(value)

    def describe(self) -> dict[str, object]:
        """Describe the variable, with ``choices`` as ``[[value, label], ...]``."""
        return {**super().describe(), "choices": [[value, label] for value, label in self.choices]}


class MultiChoiceVar(ChoiceVar):
    """Any number of values out of ``choices``: a list, or a comma-separated string (``"a, b"``).

    The cleaned value is a list of choice values in the order given, without repeats; an optional variable left
    empty cleans to ``[]``.
    """

    kind = VariableKind.MULTICHOICE

    def _split(self, value: object) -> list[object]:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        if isinstance(value, list | tuple):
            return list(value)
        raise ValueError("Enter a list of values.")

    def _is_empty(self, value: object) -> bool:
        if isinstance(value, str):
            return not self._split(value)
        return super()._is_empty(value)

    def _convert(self, value: object) -> object:
        selected: list[ChoiceValue] = []
        for item in self._split(value):
            choice = self._match(item)
            if choice not in selected:
                selected.append(choice)
        return selected

    def _empty(self) -> object:
        return []


def validate_data(variables: Mapping[str, Variable], data: object) -> dict[str, object]:
    """Validate a job's data against its variables, the way Nautobot's ``Job.validate_data`` does.

    Every problem is collected, so the user sees all of them at once.

    Args:
        variables: the job's variables by name, in declaration order.
        data: the submitted data (a dict of variable name -> value).

    Returns:
        The cleaned data: one entry per variable, in declaration order. An empty variable takes its default; an
        optional one without a default is None (False for a boolean, [] for a multiple choice).

    Raises:
        InvalidDataError: ``["Job data needs to be a dict"]`` when data is not a mapping; otherwise
            ``{name: [message]}`` for every invalid or missing variable and every unknown key.
    """
    if not isinstance(data, Mapping):
        raise InvalidDataError([NOT_A_DICT_MESSAGE])
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, object] = {}
    for name, variable in variables.items():
        try:
            cleaned[name] = variable.clean(data.get(name))
        except ValueError as exc:
            errors[name] = [str(exc)]
    for key in data:
        if key not in variables:
            errors[str(key)] = [UNKNOWN_PROPERTY_MESSAGE]
    if errors:
        raise InvalidDataError(errors)
    return cleaned
