"""The variable base class: what every job variable declares (label, description, default, required) and how a
submitted value is cleaned; ``VariableKind`` tells the edges which widget to draw.

Pure: standard library only. Must not import Slack, SQLAlchemy, ``storage`` or ``handlers``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from enum import StrEnum
from typing import ClassVar

REQUIRED_MESSAGE = "This field is required."


class TypedText(str):
    """A value typed as text on Slack's one-line ``/jobs run JOB var=value``: a variable that cannot be typed (a file)
    refuses it and says where to give it instead."""



class VariableKind(StrEnum):
    """What kind of input a variable is; edges pick a widget from it.

    STRING: one line of text.
    TEXT: several lines of text.
    INTEGER: a whole number.
    BOOLEAN: a yes/no switch (never required; absent means False).
    CHOICE: one value out of a fixed list.
    MULTICHOICE: any number of values out of a fixed list.
    FILE: a file the requester attaches.
    """

    STRING = "string"
    TEXT = "text"
    INTEGER = "integer"
    BOOLEAN = "boolean"
    CHOICE = "choice"
    MULTICHOICE = "multichoice"
    FILE = "file"


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

    def to_python(self, value: object) -> object:
        """What the job's ``run()`` receives for a cleaned (stored) value; most variables pass it on as it is.

        Args:
            value: the cleaned value, as ``clean`` returned it and the database kept it.
        """
        return value

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
